"""Alerts through ``POST /hooks/alerts/{provider}`` of a running ``andon serve``."""

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.ci_payloads import signature
from tests.fakes.slack import FakeSlack
from tests.harness import WEBHOOK_SECRET, AndonServer

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
NOTIFY = ROOT / "contrib" / "nagios" / "andon-notify"
BEARER = {"Authorization": f"Bearer {WEBHOOK_SECRET}"}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack
) -> Iterator[AndonServer]:
    workdir = tmp_path_factory.mktemp("alert-hooks")
    running = AndonServer(
        workdir, database_url=f"sqlite:///{workdir / 'andon.db'}", slack=fake_slack
    )
    yield running.start()
    running.stop()


def firing() -> dict[str, Any]:
    return json.loads((FIXTURES / "alertmanager" / "firing.json").read_text())


def signed(body: bytes) -> dict[str, str]:
    return {"X-Andon-Signature": signature(body)}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def post(
    server: AndonServer,
    provider: str,
    payload: Any = None,
    *,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> requests.Response:
    body = raw if raw is not None else json.dumps(payload).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    return requests.post(
        f"{server.url}/hooks/alerts/{provider}", data=body, headers=sent, timeout=10
    )


def newest_audit_id(server: AndonServer) -> int:
    entries = server.api("/api/audit?limit=1").json()["entries"]
    return entries[0]["id"] if entries else 0


def written_since(server: AndonServer, audit_id: int) -> list[dict[str, Any]]:
    entries = server.api("/api/audit?limit=1000").json()["entries"]
    return [entry for entry in entries if entry["id"] > audit_id]


def alert_entries(entries: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [
        (e["actor"]["id"], e["action"], e["detail"])
        for e in entries
        if e["action"] == "alerts" or e["actor"]["id"].startswith("alerts:")
    ]


@pytest.mark.parametrize(
    "headers",
    [BEARER, basic("alertmanager", WEBHOOK_SECRET)],
    ids=["bearer", "basic auth"],
)
def test_an_alertmanager_group_is_recorded_once_per_delivery(
    server: AndonServer, headers: dict[str, str]
) -> None:
    before = newest_audit_id(server)
    answer = post(server, "alertmanager", firing(), headers=headers)
    assert answer.status_code == 200, answer.text
    counts = answer.json()
    assert counts["alerts"] == 2
    assert set(counts) == {"alerts", "paged", "updated", "held", "unchanged"}
    recorded = [e for e in written_since(server, before) if e["action"] == "alerts"]
    assert [e["actor"]["id"] for e in recorded] == ["alerts:alertmanager"]


def test_a_generic_alert_signed_with_x_andon_signature_is_recorded(server: AndonServer) -> None:
    body = json.dumps({"name": "signups_low", "status": "firing", "value": 0.0}).encode()
    before = newest_audit_id(server)
    answer = post(server, "generic", raw=body, headers=signed(body))
    assert answer.status_code == 200, answer.text
    assert answer.json()["alerts"] == 1
    recorded = [e for e in written_since(server, before) if e["action"] == "alerts"]
    assert [e["actor"]["id"] for e in recorded] == ["alerts:generic"]


def test_a_pagerduty_event_with_the_secret_as_routing_key_is_answered_as_pagerduty_does(
    server: AndonServer,
) -> None:
    event = {
        "routing_key": WEBHOOK_SECRET,
        "event_action": "trigger",
        "payload": {"summary": "Disk on web1 is 97% full", "source": "web1", "severity": "error"},
    }
    before = newest_audit_id(server)
    answer = post(server, "pagerduty", event)
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "success"
    assert answer.json()["message"] == "Event processed"
    assert len(answer.json()["dedup_key"]) == 32
    recorded = [e for e in written_since(server, before) if e["action"] == "alerts"]
    assert [e["actor"]["id"] for e in recorded] == ["alerts:pagerduty"]


def test_a_nagios_acknowledgement_is_answered_ignored_and_audited(server: AndonServer) -> None:
    body = json.dumps({"NOTIFICATIONTYPE": "ACKNOWLEDGEMENT", "HOSTNAME": "web1"}).encode()
    before = newest_audit_id(server)
    answer = post(server, "nagios", raw=body, headers=signed(body))
    assert answer.status_code == 202, answer.text
    assert "ACKNOWLEDGEMENT" in answer.json()["ignored"]
    assert alert_entries(written_since(server, before)) == [
        ("alerts:nagios", "webhook", f"ignored: {answer.json()['ignored']}")
    ]


def test_a_nagios_notification_posted_as_a_form_is_read_like_json(server: AndonServer) -> None:
    body = (
        b"NOTIFICATIONTYPE=PROBLEM&HOSTNAME=web1&SERVICEDESC=HTTP&SERVICESTATE=CRITICAL"
        b"&SERVICEOUTPUT=Connection+refused&SERVICEPROBLEMID=4711&LASTSERVICEPROBLEMID=0"
    )
    form = {"Content-Type": "application/x-www-form-urlencoded", **signed(body)}
    answer = post(server, "nagios", raw=body, headers=form)
    assert answer.status_code == 200, answer.text
    assert answer.json()["alerts"] == 1


# Refusals write nothing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({}, "unsigned"),
        ({"Authorization": "Bearer not-the-secret"}, "wrong bearer token"),
        (basic("alertmanager", "not-the-secret"), "wrong basic-auth password"),
        ({"X-Andon-Signature": signature(b"{}", "not-the-secret")}, "signed with another secret"),
    ],
)
def test_an_unauthenticated_alert_is_refused_and_writes_nothing(
    server: AndonServer, headers: dict[str, str], why: str
) -> None:
    before = newest_audit_id(server)
    answer = post(server, "alertmanager", firing(), headers=headers)
    assert answer.status_code == 401, why
    assert written_since(server, before) == []


@pytest.mark.parametrize(
    "routing_key", ["not-the-secret", None], ids=["wrong routing_key", "no routing_key"]
)
def test_a_pagerduty_event_without_the_secret_as_routing_key_is_refused(
    server: AndonServer, routing_key: str | None
) -> None:
    event = {"routing_key": routing_key, "event_action": "resolve", "dedup_key": "disk-web1"}
    before = newest_audit_id(server)
    answer = post(server, "pagerduty", event, headers=BEARER)  # headers do not count here
    assert answer.status_code == 401
    assert "routing_key" in answer.json()["detail"]
    assert written_since(server, before) == []


def test_a_body_that_is_not_json_is_a_400(server: AndonServer) -> None:
    before = newest_audit_id(server)
    answer = post(server, "generic", raw=b'{"name": ', headers=BEARER)
    assert answer.status_code == 400
    assert "not JSON" in answer.json()["detail"]
    assert written_since(server, before) == []


def test_an_alert_missing_a_field_is_a_422_naming_it(server: AndonServer) -> None:
    body = firing()
    del body["alerts"][1]["labels"]["alertname"]
    before = newest_audit_id(server)
    answer = post(server, "alertmanager", body, headers=BEARER)
    assert answer.status_code == 422
    assert answer.json() == {
        "detail": "alerts[1].labels.alertname is missing",
        "field": "alerts[1].labels.alertname",
    }
    assert written_since(server, before) == []  # not even the first, well-formed alert


def test_an_unknown_provider_is_a_404_naming_the_known_ones(server: AndonServer) -> None:
    before = newest_audit_id(server)
    answer = post(server, "zabbix", {"name": "x", "status": "firing"}, headers=BEARER)
    assert answer.status_code == 404
    assert "alertmanager, generic, grafana, nagios, pagerduty" in answer.json()["detail"]
    assert written_since(server, before) == []


def test_a_body_over_5_mb_is_a_413(server: AndonServer) -> None:
    body = json.dumps({"name": "big", "status": "firing", "summary": "x" * 5_300_000}).encode()
    before = newest_audit_id(server)
    answer = post(server, "generic", raw=body, headers=BEARER)
    assert answer.status_code == 413
    assert written_since(server, before) == []


# contrib/nagios/andon-notify ------------------------------------------------------------------

needs_tools = pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("openssl") is None,
    reason="andon-notify needs curl and openssl",
)


def notify(server: AndonServer, *macros: str, secret: str = WEBHOOK_SECRET) -> Any:
    env = {"PATH": os.environ["PATH"], "ANDON_URL": server.url, "ANDON_WEBHOOK_SECRET": secret}
    return subprocess.run(
        [str(NOTIFY), *macros], env=env, capture_output=True, text=True, timeout=30
    )


def test_the_nagios_notify_script_is_executable() -> None:
    assert os.access(NOTIFY, os.X_OK)


@needs_tools
def test_the_nagios_notify_script_posts_a_signed_problem_that_is_recorded(
    server: AndonServer,
) -> None:
    before = newest_audit_id(server)
    sent = notify(
        server,
        "NOTIFICATIONTYPE=PROBLEM",
        "HOSTNAME=web1",
        "SERVICEDESC=HTTP",
        "SERVICESTATE=CRITICAL",
        'SERVICEOUTPUT=HTTP CRITICAL: "/health" said 500 \\ retry\tlater',
        "SERVICEPROBLEMID=4712",
        "LASTSERVICEPROBLEMID=0",
    )
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["alerts"] == 1
    recorded = [e for e in written_since(server, before) if e["action"] == "alerts"]
    assert [e["actor"]["id"] for e in recorded] == ["alerts:nagios"]


@needs_tools
def test_the_nagios_notify_script_fails_loudly_with_the_wrong_secret(server: AndonServer) -> None:
    before = newest_audit_id(server)
    sent = notify(
        server, "NOTIFICATIONTYPE=RECOVERY", "HOSTNAME=web1", "HOSTPROBLEMID=0", secret="guessed"
    )
    assert sent.returncode == 1
    assert "Andon answered 401" in sent.stderr
    assert written_since(server, before) == []
