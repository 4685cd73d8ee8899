"""What each CI's own bodies mean, through ``POST /hooks/ci/{provider}`` of a running Andon.

The bodies are fixtures built from each sender's documentation and source (see the SOURCES.md
beside them): GitLab's pipeline data builder, the Jenkins Notification plugin's model, Buildbot's
data API. The server is the in-process one (the real app, courier and fake Slack), shared by the
module; each test uses revisions of its own.
"""

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from core.clock import ManualClock
from tests.ci_payloads import sha, signature
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, WEBHOOK_SECRET
from tests.inprocess import InProcessAndon
from tests.postgres import PostgresCluster
from tests.slack_requests import slash_command

FIXTURES = Path(__file__).parent / "fixtures"
T0 = 1_710_400_000
CONFIG = f"""
[slack]
channel = "{CHANNEL}"

[access]
admins = ["U0ADMIN01"]

[repo]
path = "/srv/git/app.git"
branch = "main"

[people]
"dev@example.com" = "U0DEV0001"
"""
BEARER = {"Authorization": f"Bearer {WEBHOOK_SECRET}"}
GITLAB = {"X-Gitlab-Token": WEBHOOK_SECRET, "X-Gitlab-Event": "Pipeline Hook"}
BASIC = base64.b64encode(f"buildbot:{WEBHOOK_SECRET}".encode()).decode()
BUILDBOT = {"Authorization": f"Basic {BASIC}"}


@pytest.fixture(scope="module")
def line(
    tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack
) -> Iterator[InProcessAndon]:
    clock = ManualClock(datetime.fromtimestamp(T0, tz=UTC))
    workdir = tmp_path_factory.mktemp("ci-senders")
    running = InProcessAndon(workdir, config=CONFIG, slack=fake_slack, clock=clock).start()
    yield running
    running.stop()


def fixture(path: str) -> dict[str, Any]:
    return json.loads((FIXTURES / path).read_text())


def post(
    line: InProcessAndon,
    provider: str,
    body: Any,
    headers: dict[str, str],
    raw: bytes | None = None,
) -> requests.Response:
    data = raw if raw is not None else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **headers}
    return requests.post(f"{line.url}/hooks/ci/{provider}", data=data, headers=sent, timeout=10)


def slash(line: InProcessAndon, command: str, text: str, user: str = "U0MARIA01") -> dict:
    body, kind = slash_command(
        command, text, user=user, name="maria", response_url=line.slack.response_url()
    )
    answer = line.slack_post(body, kind)
    assert answer.status_code == 200, answer.text
    return answer.json()


def running_line(line: InProcessAndon) -> None:
    """The line running before a test that stops it: an admin forces it back on."""
    if line.api("/api/line")["state"] == "stopped":
        slash(line, "/line", "start force the next scenario", user="U0ADMIN01")
        line.deliver()
    assert line.api("/api/line")["state"] == "running"


def said(line: InProcessAndon, text: str, **where: str) -> dict:
    """The newest message whose fallback text holds ``text`` (and the given fields)."""
    line.deliver()

    def match(p: dict) -> bool:
        return text in p.get("text", "") and all(p.get(k) == v for k, v in where.items())

    return line.slack.wait_for("chat.postMessage", match)[-1].params


def shown(params: dict) -> str:
    return json.dumps(params.get("blocks"), ensure_ascii=False)


def told_in_channel(line: InProcessAndon, revision: str) -> list[str]:
    line.deliver()
    return [
        c.params["text"]
        for c in line.slack.calls("chat.postMessage")
        if c.params.get("channel") == CHANNEL and revision[:7] in c.params.get("text", "")
    ]


# GitLab ---------------------------------------------------------------------------------------


def test_a_red_merge_request_pipeline_from_a_forks_main_tells_its_author_and_not_the_line(
    line: InProcessAndon,
) -> None:
    running_line(line)
    body = fixture("gitlab/pipeline.merge_request.failed.json")
    rev = sha()
    body["object_attributes"]["sha"] = body["commit"]["id"] = rev
    answer = post(line, "gitlab", body, GITLAB)
    assert answer.status_code == 200, answer.text
    assert answer.json()["stopped_line"] is False

    dm = said(line, f"Your commit {rev[:7]}", channel="D0DEV0001")
    assert dm["text"] == (
        f"Your commit {rev[:7]} on refs/merge-requests/12/head failed "
        "shop/storefront · merge request (Fix VAT rounding (!12))"
    )
    assert "Round VAT per line in the fork" in shown(dm) and "job:unit" in shown(dm)
    assert line.api("/api/line")["state"] == "running"
    assert told_in_channel(line, rev) == []


def test_a_gitlab_pipeline_is_one_pipeline_whatever_its_per_commit_workflow_name(
    line: InProcessAndon,
) -> None:
    running_line(line)
    red, green = sha(), sha()
    failed = fixture("gitlab/pipeline.failed.json")
    failed["object_attributes"].update(sha=red, id=3101, name=f"Checkout for {red[:7]}")
    passed = fixture("gitlab/pipeline.success.json")
    passed["object_attributes"].update(sha=green, id=3102, name=f"Checkout for {green[:7]}")

    assert post(line, "gitlab", failed, GITLAB).json()["stopped_line"] is True
    announced = said(line, f"CI failed on {red[:7]} (main)", channel=CHANNEL)
    assert announced["text"].endswith(f"shop/storefront (Checkout for {red[:7]})")
    assert post(line, "gitlab", passed, GITLAB).status_code == 200
    fixed = said(line, f"Fixed by {green[:7]}")
    assert (
        fixed["text"]
        == f"Fixed by {green[:7]}: shop/storefront (Checkout for {green[:7]}) passed on main"
    )
    answer = slash(line, "/ci", green)
    assert answer["text"] == f"{green[:7]} is green"
    assert f"*shop/storefront* (Checkout for {green[:7]}) — passed" in shown(answer)


def test_a_canceled_gitlab_pipeline_is_no_longer_running_and_not_green(
    line: InProcessAndon,
) -> None:
    rev = sha()
    running = fixture("gitlab/pipeline.success.json")
    running["object_attributes"].update(sha=rev, id=3201, status="running", finished_at=None)
    canceled = fixture("gitlab/pipeline.canceled.json")
    canceled["object_attributes"].update(sha=rev, id=3201)

    assert post(line, "gitlab", running, GITLAB).status_code == 200
    assert post(line, "gitlab", canceled, GITLAB).json()["stopped_line"] is False
    answer = slash(line, "/ci", rev)
    assert answer["text"] == f"{rev[:7]} has no passing CI result yet (shop/storefront: canceled)"
    assert "*shop/storefront* (tests) — canceled" in shown(answer)
    assert told_in_channel(line, rev) == []


def test_a_gitlab_pipeline_waiting_only_on_a_manual_job_counts_as_passed(
    line: InProcessAndon,
) -> None:
    rev = sha()
    body = fixture("gitlab/pipeline.manual.json")
    body["object_attributes"]["sha"] = rev
    assert post(line, "gitlab", body, GITLAB).status_code == 200
    assert slash(line, "/ci", rev)["text"] == f"{rev[:7]} is green"


# GitHub ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("conclusion", ["cancelled", "skipped"])
def test_a_cancelled_github_run_is_no_longer_running_and_not_green(
    line: InProcessAndon, conclusion: str
) -> None:
    rev = sha()
    running = fixture("github/workflow_run.completed.json")
    running["action"] = "in_progress"
    running["workflow_run"].update(head_sha=rev, status="in_progress", conclusion=None)
    ended = fixture("github/workflow_run.completed.json")
    ended["workflow_run"].update(head_sha=rev, conclusion=conclusion)

    assert post_github(line, running).status_code == 200
    assert (
        slash(line, "/ci", rev)["text"] == f"{rev[:7]} has no passing CI result yet (test: running)"
    )
    assert post_github(line, ended).json()["stopped_line"] is False
    answer = slash(line, "/ci", rev)
    assert answer["text"] == f"{rev[:7]} has no passing CI result yet (test: canceled)"
    assert told_in_channel(line, rev) == []


def post_github(line: InProcessAndon, body: dict[str, Any]) -> requests.Response:
    raw = json.dumps(body).encode()
    headers = {"X-GitHub-Event": "workflow_run", "X-Hub-Signature-256": signature(raw)}
    return post(line, "github", None, headers, raw=raw)


# Jenkins --------------------------------------------------------------------------------------


def test_an_aborted_jenkins_build_is_canceled_not_running(line: InProcessAndon) -> None:
    rev = sha()
    started, aborted = fixture("jenkins/started.json"), fixture("jenkins/finalized.aborted.json")
    started["build"].update(number=873)
    started["build"]["scm"]["commit"] = aborted["build"]["scm"]["commit"] = rev
    assert post(line, "jenkins", started, BEARER).status_code == 200
    assert post(line, "jenkins", aborted, BEARER).json()["stopped_line"] is False
    answer = slash(line, "/ci", rev)
    assert answer["text"] == f"{rev[:7]} has no passing CI result yet (storefront: canceled)"
    assert told_in_channel(line, rev) == []


def test_a_multibranch_jenkins_job_is_named_after_its_project(line: InProcessAndon) -> None:
    running_line(line)
    rev = sha()
    body = fixture("jenkins/multibranch.finalized.failure.json")
    body["build"]["scm"]["commit"] = rev
    assert post(line, "jenkins", body, BEARER).json()["stopped_line"] is True
    announced = said(line, f"CI failed on {rev[:7]} (main)", channel=CHANNEL)
    assert announced["text"] == f"CI failed on {rev[:7]} (main) — app"
    said(line, f"Line stopped by app CI: CI failed on {rev[:7]}")


def test_a_jenkins_culprit_is_the_author_told_of_a_red_branch(line: InProcessAndon) -> None:
    rev = sha()
    body = fixture("jenkins/finalized.unstable.json")
    body["build"]["scm"].update(
        commit=rev, branch="origin/feature/vat", culprits=["dev@example.com"]
    )
    assert post(line, "jenkins", body, BEARER).json()["stopped_line"] is False
    dm = said(line, f"Your commit {rev[:7]} on feature/vat failed storefront", channel="D0DEV0001")
    assert "checkout.test_vat.RoundingTest.test_rounds_per_line" in shown(dm)


def test_a_red_jenkins_build_names_its_first_culprit(line: InProcessAndon) -> None:
    rev = sha()
    body = fixture("jenkins/finalized.unstable.json")
    body["build"]["scm"].update(commit=rev, culprits=["maria", "olek"])
    assert post(line, "jenkins", body, BEARER).status_code == 200
    announced = said(line, f"CI failed on {rev[:7]} (main)", channel=CHANNEL)
    assert "— maria" in shown(announced) and "unknown author" not in shown(announced)


# Buildbot -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "problem"), [(b"", "the body is empty"), (b"Build succeeded!", "the body is not JSON")]
)
def test_a_buildbot_body_that_is_not_json_says_what_buildbot_needs(
    line: InProcessAndon, raw: bytes, problem: str
) -> None:
    answer = post(line, "buildbot", None, BUILDBOT, raw=raw)
    assert answer.status_code == 400
    detail = answer.json()["detail"]
    assert detail.startswith(problem)
    assert 'MessageFormatterFunction(lambda context: context["build"], "json")' in detail


def test_a_buildbot_failure_of_several_codebases_names_the_author_and_subject_of_its_change(
    line: InProcessAndon,
) -> None:
    running_line(line)
    body = fixture("buildbot/build.finished.failure.codebases.json")
    rev = sha()
    body["properties"]["got_revision"][0]["app"] = body["changes"][0]["revision"] = rev
    answer = post(line, "buildbot", body, BUILDBOT)
    assert answer.status_code == 200, answer.text
    assert answer.json()["stopped_line"] is True
    announced = said(line, f"CI failed on {rev[:7]} (main) — storefront-tests", channel=CHANNEL)
    assert "Checkout: round VAT per line — <@U0DEV0001>" in shown(announced)


def test_a_buildbot_exception_is_announced_but_does_not_stop_the_line(
    line: InProcessAndon,
) -> None:
    running_line(line)
    body = fixture("buildbot/build.finished.exception.json")
    rev = sha()
    body["buildset"]["sourcestamps"][0]["revision"] = rev
    answer = post(line, "buildbot", body, BUILDBOT)
    assert answer.json()["stopped_line"] is False
    announced = said(line, f"CI failed on {rev[:7]} (main)", channel=CHANNEL)
    assert "the line keeps running" in shown(announced)
    assert line.api("/api/line")["state"] == "running"
    answer = slash(line, "/ci", rev)
    assert answer["text"] == f"{rev[:7]} failed CI (storefront-tests: failed)"


# Both databases ---------------------------------------------------------------------------------


def test_a_canceled_result_is_kept_and_shown_on_postgresql(
    tmp_path: Path, fake_slack: FakeSlack, postgres: PostgresCluster
) -> None:
    """The status column holds every status on PostgreSQL too (SQLite checks no width)."""
    clock = ManualClock(datetime.fromtimestamp(T0, tz=UTC))
    url = postgres.create_database(f"senders_{sha()[:8]}")
    on_postgres = InProcessAndon(
        tmp_path, config=CONFIG, slack=fake_slack, clock=clock, database_url=url
    ).start()
    try:
        rev = sha()
        aborted = fixture("jenkins/finalized.aborted.json")
        aborted["build"]["scm"]["commit"] = rev
        assert post(on_postgres, "jenkins", aborted, BEARER).status_code == 200
        answer = slash(on_postgres, "/ci", rev)
        assert answer["text"] == f"{rev[:7]} has no passing CI result yet (storefront: canceled)"
    finally:
        on_postgres.stop()
