"""Each CI's and each alert source's own webhook body, carrying a hostile text in every field a
person reads: ``subject …``, ``author …``, ``pipeline …``, ``test …`` for a build; ``name …``,
``summary …``, ``value …`` and labels for an alert; the link in ``url``.

The bodies start from the senders' real payloads (tests/fixtures) so that only the hostile
fields differ from what the CI or monitoring system sends.
"""

import copy
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from tests.ci_payloads import generic
from tests.harness import WEBHOOK_SECRET

FIXTURES = Path(__file__).parent / "fixtures"
BEARER = {"Authorization": f"Bearer {WEBHOOK_SECRET}"}
CI = ("github", "gitlab", "buildbot", "jenkins", "generic")
AUTHORED_CI = ("github", "gitlab", "generic")  # the CIs that say who wrote the commit
TESTED_CI = ("gitlab", "jenkins", "generic")  # the CIs that name the failing tests (or jobs)
ALERTS = ("alertmanager", "grafana", "nagios", "pagerduty", "generic")
LINKED_ALERTS = ("alertmanager", "grafana", "pagerduty", "generic")  # nagios sends no link
Webhook = tuple[dict[str, Any], dict[str, str]]  # a webhook's body and its headers


def fixture(provider: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / provider / f"{name}.json").read_text())


def _github(*, revision: str, text: str, url: str, branch: str, email: str) -> Webhook:
    body = fixture("github", "workflow_run.completed")
    run = body["workflow_run"]
    run.update(
        head_sha=revision,
        head_branch=branch,
        conclusion="failure",
        name=f"pipeline {text}",
        html_url=url,
    )
    run["head_commit"].update(
        message=f"subject {text}\n\nthe body",
        author={"name": f"author {text}", "email": email},
    )
    return body, {"X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": revision}


def _gitlab(*, revision: str, text: str, url: str, branch: str, email: str) -> Webhook:
    body = fixture("gitlab", "pipeline.failed")
    # the pipeline is named after the project; workflow:name is the run's label
    body["object_attributes"].update(sha=revision, ref=branch, name=f"label {text}", url=url)
    body["project"]["path_with_namespace"] = f"pipeline {text}"
    body["commit"].update(
        title=f"subject {text}", author={"name": f"author {text}", "email": email}
    )
    failing = next(job for job in body["builds"] if job["allow_failure"] is False)
    failing["name"] = f"test {text}"
    return body, {"X-Gitlab-Token": WEBHOOK_SECRET, "X-Gitlab-Event": "Pipeline Hook"}


def _buildbot(*, revision: str, text: str, url: str, branch: str, email: str) -> Webhook:
    """Buildbot's build record names no author, subject or test."""
    body = fixture("buildbot", "build.finished.failure")
    body["buildset"]["sourcestamps"][0].update(revision=revision, branch=branch)
    body["properties"]["got_revision"] = [revision, "Git"]
    body.update(url=url, builder={**body["builder"], "name": f"pipeline {text}"})
    return body, BEARER


def _jenkins(*, revision: str, text: str, url: str, branch: str, email: str) -> Webhook:
    """The notification plugin names no author or subject."""
    body = fixture("jenkins", "finalized.unstable")
    body["name"] = f"pipeline {text}"
    body["build"].update(full_url=url)
    body["build"]["scm"].update(commit=revision, branch=f"origin/{branch}")
    body["build"]["test_summary"]["failed_tests"] = [f"test {text}"]
    return body, BEARER


def _generic_build(*, revision: str, text: str, url: str, branch: str, email: str) -> Webhook:
    junit = (
        f"<testsuite name={quoteattr(text)} tests='2'><testcase classname='junit' "
        f"name={quoteattr(f'test {text}')}><failure message={quoteattr(text)}>trace</failure>"
        "</testcase></testsuite>"
    )
    body = generic(
        revision,
        "failed",
        branch=branch,
        pipeline=f"pipeline {text}",
        run_id=revision[:8],
        url=url,
        failed_tests=[f"test {text}"],
        junit_xml=junit,
        subject=f"subject {text}",
        author_name=f"author {text}",
        author_email=email,
    )
    return body, {}


_BUILDS: dict[str, Callable[..., Webhook]] = {
    "github": _github,
    "gitlab": _gitlab,
    "buildbot": _buildbot,
    "jenkins": _jenkins,
}


def build(provider: str, *, revision: str, text: str, url: str, branch: str, email: str) -> Webhook:
    """A red build of ``revision`` on ``branch`` as ``provider`` posts it, and its headers."""
    make = _BUILDS.get(provider, _generic_build)
    return make(revision=revision, text=text, url=url, branch=branch, email=email)


def _alertmanager(*, provider: str, key: str, text: str, url: str) -> Webhook:
    """Alertmanager's webhook, or Grafana's (Alertmanager's with a value and a panel)."""
    labels = {"alertname": f"name {text}", "instance": text, "team": text}
    body = fixture("alertmanager", "firing")
    one = copy.deepcopy(body["alerts"][0])
    one.update(
        labels=labels,
        annotations={"summary": f"summary {text}", "value": f"value {text}"},
        fingerprint=key,
        generatorURL=url,
    )
    if provider == "grafana":
        one.update(valueString=f"value {text}", panelURL=url, dashboardURL="")
    body.update(alerts=[one], commonLabels=labels, groupKey=f"{{}}:{{{key}}}")
    return body, BEARER


def _nagios(*, provider: str, key: str, text: str, url: str) -> Webhook:
    macros = {
        "NOTIFICATIONTYPE": "PROBLEM",
        "HOSTNAME": f"host {text}",
        "SERVICEDESC": f"name {text}",
        "SERVICESTATE": "CRITICAL",
        "SERVICEOUTPUT": f"summary {text}",
        "SERVICEPROBLEMID": str(int(key, 16)),
        "LASTSERVICEPROBLEMID": "0",
    }
    return macros, {}


def _pagerduty(*, provider: str, key: str, text: str, url: str) -> Webhook:
    event = {
        "routing_key": WEBHOOK_SECRET,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {
            "summary": f"summary {text}",
            "source": f"name {text}",  # the page is named by its summary: shown beside
            "severity": "critical",
            "class": f"class {text}",
            "custom_details": {"team": text},
        },
        "links": [{"href": url, "text": text}],
    }
    return event, {}


def _generic_alert(*, provider: str, key: str, text: str, url: str) -> Webhook:
    body = {
        "name": f"name {text}",
        "status": "firing",
        "summary": f"summary {text}",
        "fingerprint": key,
        "value": f"value {text}",
        "url": url,
        "labels": {"team": text},
    }
    return body, {}


_ALERTS: dict[str, Callable[..., Webhook]] = {
    "alertmanager": _alertmanager,
    "grafana": _alertmanager,
    "nagios": _nagios,
    "pagerduty": _pagerduty,
}


def alert(provider: str, *, text: str, url: str) -> Webhook:
    """A new firing alert from ``provider``, hostile in its name, summary, value and labels."""
    key = secrets.token_hex(8)
    make = _ALERTS.get(provider, _generic_alert)
    return make(provider=provider, key=key, text=text, url=url)
