"""What real senders send, read as they mean it: bodies built from each sender's own documentation
and source (tests/sender_bodies.py) posted to the in-process front, and what the person paged and
the channel then see.

PagerDuty's clients append ``/v2/enqueue`` to the URL they are given; Grafana's *Test* button is
no alert; a Nagios WARNING that turns CRITICAL is the same problem, worse; a page carries its
runbook, description, links, details and when it fired; a resolved page says how it ended.
"""

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from core.clock import ManualClock
from tests import sender_bodies as bodies
from tests.ci_payloads import signature
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, WEBHOOK_SECRET
from tests.inprocess import InProcessAndon

ROOT = Path(__file__).parent.parent
NOTIFY = ROOT / "contrib" / "nagios" / "andon-notify"
T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
ONE = "U0ONE"
CONFIG = f"""
[slack]
channel = "{CHANNEL}"
[oncall]
rotation = ["{ONE}"]
repeat = "1h"
ack_timeout = "1h"
"""
WARNINGS_KEEP_RUNNING = """
[[alerts.routes]]
match = { severity = "warning" }
stop_line = false
"""


def start(tmp_path: Path, slack: FakeSlack, config: str = CONFIG, **kw: Any) -> InProcessAndon:
    slack.forget()
    return InProcessAndon(tmp_path, config=config, slack=slack, clock=ManualClock(T0), **kw).start()


@pytest.fixture
def andon(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[InProcessAndon]:
    running = start(tmp_path, fake_slack)
    yield running
    running.stop()


def post(andon: InProcessAndon, path: str, body: Any, **headers: str) -> requests.Response:
    raw = json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **headers}
    answer = requests.post(f"{andon.url}/hooks/alerts/{path}", data=raw, headers=sent, timeout=10)
    andon.deliver()
    return answer


def signed(andon: InProcessAndon, provider: str, body: Any) -> requests.Response:
    raw = json.dumps(body).encode()
    return post(andon, provider, body, **{"X-Andon-Signature": signature(raw)})


def dms(slack: FakeSlack, user: str = ONE) -> list[dict[str, Any]]:
    channel = "D" + user[1:]
    return [c.params for c in slack.calls("chat.postMessage") if c.params["channel"] == channel]


def updates(slack: FakeSlack, user: str = ONE) -> list[dict[str, Any]]:
    channel = "D" + user[1:]
    return [c.params for c in slack.calls("chat.update") if c.params["channel"] == channel]


def channel(slack: FakeSlack) -> list[str]:
    return [
        c.params["text"] for c in slack.calls("chat.postMessage") if c.params["channel"] == CHANNEL
    ]


def shown(message: dict[str, Any]) -> str:
    """Every text of a message's blocks, as Slack reads it."""
    return json.dumps(message["blocks"], ensure_ascii=False)


# PagerDuty ------------------------------------------------------------------------------------


def test_a_pagerduty_client_posting_to_base_url_v2_enqueue_pages_like_the_base_path(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    answer = post(andon, "pagerduty/v2/enqueue", bodies.PAGERDUTY_TRIGGER)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "srv01/mysql",
    }
    [page] = dms(fake_slack)
    assert page["text"] == (
        "DISK at 99% on machine prod-datapipe03.example.com · prod-datapipe03.example.com "
        "(critical) — page #1"
    )
    blocks = shown(page)
    assert "<https://monitoring.example.com|Sample Monitoring Service>" in blocks
    assert "<https://example.com/|Link text>" in blocks
    assert "*free space*: 1%" in blocks and "*load avg*: 0.75" in blocks
    assert "chart.googleapis.com" not in blocks  # images are not shown
    fired = int(datetime(2015, 7, 17, 8, 42, 58, tzinfo=UTC).timestamp())
    assert f"fired <!date^{fired}^" in blocks  # when it fired, not when Andon heard of it
    assert andon.api("/api/line")["state"] == "stopped"

    again = post(andon, "pagerduty", bodies.PAGERDUTY_TRIGGER)  # the documented base path
    assert (again.status_code, again.json()) == (202, answer.json())
    assert len(dms(fake_slack)) == 1  # the same alert: nothing new

    resolved = post(andon, "pagerduty/v2/enqueue", bodies.PAGERDUTY_RESOLVE)
    assert resolved.status_code == 202, resolved.text
    [update] = updates(fake_slack)
    assert update["text"].startswith("DISK at 99% on machine prod-datapipe03.example.com")
    assert "resolved by PagerDuty" in update["text"]


def test_a_page_from_alertmanagers_pagerduty_sender_is_named_by_its_summary(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    answer = post(andon, "pagerduty/v2/enqueue", bodies.ALERTMANAGER_PAGERDUTY)
    assert answer.status_code == 202, answer.text
    [page] = dms(fake_slack)
    assert page["text"].startswith(
        "[FIRING:1] InstanceDown (localhost:8081 node production critical) · Alertmanager (error)"
    )
    blocks = shown(page)
    link = "<http://alertmanager.example.com:9093/#/alerts?receiver=andon-pagerduty|Alertmanager>"
    assert link in blocks
    assert "*num_firing*: 1" in blocks
    assert "- alertname = InstanceDown" in blocks  # the firing instances, as details


def test_a_pagerduty_event_that_says_too_much_is_shown_within_slacks_limits_and_inert(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    loud = json.loads(json.dumps(bodies.PAGERDUTY_TRIGGER))
    loud["payload"]["custom_details"] = {
        f"<!channel> key {n}": f"<https://evil.example|click> {'x' * 900}" for n in range(60)
    }
    loud["links"] = [
        {"href": f"https://example.com/{n}?{'q' * 2_800}", "text": f"<!here> link {n}"}
        for n in range(12)
    ]
    assert post(andon, "pagerduty", loud).status_code == 202
    [page] = dms(fake_slack)  # the strict fake refuses what Slack would: it took this one
    blocks = shown(page)
    assert re.search(r"… and [34]\d more: `GET /api/pages` shows every detail of page #1", blocks)
    assert "`GET /api/pages` lists them" in blocks  # the links that did not fit
    assert "<!channel>" not in blocks and "<!here>" not in blocks
    assert "<https://evil.example" not in blocks and "&lt;https://evil.example|click&gt;" in blocks


@pytest.mark.parametrize("stop_on_info", [False, True], ids=["default", "stop_line_on_info"])
def test_an_info_event_pages_and_stops_the_line_only_where_alerts_say_so(
    tmp_path: Path, fake_slack: FakeSlack, stop_on_info: bool
) -> None:
    config = CONFIG + ("[alerts]\nstop_line_on_info = true\n" if stop_on_info else "")
    andon = start(tmp_path, fake_slack, config)
    try:
        info = json.loads(json.dumps(bodies.PAGERDUTY_TRIGGER))
        info["payload"]["severity"] = "info"
        assert post(andon, "pagerduty", info).status_code == 202
        [page] = dms(fake_slack)
        assert "(info) — page #1" in page["text"]
        line = andon.api("/api/line")["state"]
        if stop_on_info:
            assert line == "stopped"
        else:
            assert line == "running"
            [said] = channel(fake_slack)
            assert "an info alert leaves the line running" in said
    finally:
        andon.stop()


# Grafana --------------------------------------------------------------------------------------


def test_grafanas_test_notification_is_said_once_in_the_channel_never_paged(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    answer = post(andon, "grafana", bodies.GRAFANA_TEST, Authorization=f"Bearer {WEBHOOK_SECRET}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["test"] == "Grafana's test notification reached Andon"
    assert answer.json()["paged"] == 0
    assert channel(fake_slack) == ["Grafana's test notification reached Andon"]
    assert dms(fake_slack) == []
    assert andon.api("/api/line")["state"] == "running"
    assert andon.api("/api/pages")["pages"] == []
    [entry] = [e for e in andon.api("/api/audit")["entries"] if e["action"] == "alerts"]
    assert entry["detail"] == "Grafana's test notification"


def test_a_grafana_page_links_its_runbook_rule_silence_and_image(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    body = bodies.grafana_firing()
    answer = post(andon, "grafana", body, Authorization=f"Bearer {WEBHOOK_SECRET}")
    assert answer.status_code == 200, answer.text
    [page] = dms(fake_slack)
    blocks = shown(page)
    alert = body["alerts"][0]
    assert f"<{alert['silenceURL'].replace('&', '&amp;')}|silence>" in blocks
    assert f"<{alert['imageURL']}|image>" in blocks
    assert "<https://myrunbook.com/runbook/1234|runbook>" in blocks
    assert "The system has high memory usage" in blocks
    fired = int(datetime(2021, 10, 12, 7, 51, 3, tzinfo=UTC).timestamp())
    assert f"fired <!date^{fired}^" in blocks


# Nagios ---------------------------------------------------------------------------------------


def notify(andon: InProcessAndon, *macros: str) -> dict[str, Any]:
    env = {
        "PATH": os.environ["PATH"],
        "ANDON_URL": andon.url,
        "ANDON_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    sent = subprocess.run(
        [str(NOTIFY), *macros], env=env, capture_output=True, text=True, timeout=30
    )
    assert sent.returncode == 0, sent.stderr
    andon.deliver()
    return json.loads(sent.stdout)


@pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("openssl") is None,
    reason="andon-notify needs curl and openssl",
)
def test_a_nagios_warning_turned_critical_updates_the_page_asks_the_routes_and_tells(
    tmp_path: Path, fake_slack: FakeSlack, database_url: str
) -> None:
    andon = start(tmp_path, fake_slack, CONFIG + WARNINGS_KEEP_RUNNING, database_url=database_url)
    try:
        warning = notify(andon, *bodies.nagios_service("WARNING", "HTTP WARNING: 2.1 s response"))
        assert warning["paged"] == 1
        assert andon.api("/api/line")["state"] == "running"  # the route keeps warnings running
        [page] = dms(fake_slack)
        assert (
            page["text"]
            == "HTTP (warning) — page #1: HTTP on web1 is WARNING: HTTP WARNING: 2.1 s response"
        )

        critical = notify(andon, *bodies.nagios_service("CRITICAL", "connect to port 80: refused"))
        assert (critical["paged"], critical["updated"], critical["unchanged"]) == (0, 1, 0)
        _, told = dms(fake_slack)
        assert told["text"] == (
            "HTTP — page #1 is now critical (was warning): HTTP on web1 is CRITICAL: "
            "connect to port 80: refused"
        )
        [update] = updates(fake_slack)  # the page's DM, updated in place
        assert update["text"] == (
            "HTTP (critical) — page #1: HTTP on web1 is CRITICAL: connect to port 80: refused"
        )
        line = andon.api("/api/line")
        assert line["state"] == "stopped"  # no route keeps a critical alert running
        assert line["stoppage"]["causes"][0]["text"] == (
            "page: HTTP — HTTP on web1 is CRITICAL: connect to port 80: refused"
        )
        again = notify(andon, *bodies.nagios_service("CRITICAL", "connect to port 80: refused"))
        assert again["unchanged"] == 1 and len(dms(fake_slack)) == 2  # the same: nothing new

        notify(andon, *bodies.nagios_service("OK", "HTTP OK: 0.1 s", kind="RECOVERY"))
        resolved = updates(fake_slack)[-1]
        assert "HTTP on web1 is OK: HTTP OK: 0.1 s" in shown(resolved)
        assert "refused" not in shown(resolved)
    finally:
        andon.stop()


# Alertmanager ---------------------------------------------------------------------------------


def test_an_alertmanager_page_shows_runbook_description_when_it_fired_and_how_it_ended(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    answer = signed(andon, "alertmanager", bodies.alertmanager_firing())
    assert answer.status_code == 200, answer.text
    [page] = dms(fake_slack)
    blocks = shown(page)
    assert "Instance localhost:8081 down" in blocks and "value: `0`" in blocks
    assert "localhost:8081 of job node has been down for more than 1 minute." in blocks
    runbook = "https://runbooks.prometheus-operator.dev/runbooks/general/targetdown"
    assert f"<{runbook}|runbook>" in blocks
    assert "<http://prometheus:9090/graph?g0.expr=up+%3D%3D+0|where it fired>" in blocks
    fired = int(datetime(2023, 6, 12, 8, 24, 38, tzinfo=UTC).timestamp())
    assert f"fired <!date^{fired}^" in blocks
    assert f", paged <!date^{int(T0.timestamp())}^" in blocks  # heard of it later

    signed(andon, "alertmanager", bodies.alertmanager_resolved())
    [resolved] = updates(fake_slack)
    said = shown(resolved)
    assert "Instance localhost:8081 is up again" in said and "value: `1`" in said
    assert "value: `0`" not in said
