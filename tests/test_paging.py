"""Paging, end to end: a real Alertmanager payload posted to a running Andon pages the person on
call by DM and stops the line; unacknowledged it repeats and escalates as the test moves the
clock; a signed Acknowledge press through ``/slack/events`` quiets it. What the on-call person
and the channel see, and the line's state, are asserted."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from core.clock import ManualClock
from tests.ci_payloads import signature
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL
from tests.inprocess import InProcessAndon
from tests.metric_endpoint import MetricEndpoint
from tests.slack_requests import block_action, slash_command

FIXTURES = Path(__file__).parent / "fixtures" / "alertmanager"
T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # a Thursday
ONE, TWO = "U0ONE", "U0TWO"
CONFIG = f"""
[slack]
channel = "{CHANNEL}"
[oncall]
rotation = ["{TWO}", "{ONE}"]  # counted from 2024's first handoff: {ONE} has this week
handoff = "mon 09:00"
repeat = "2m"
ack_timeout = "5m"
[alerts]
flap_count = 3
flap_window = "1h"
[[alerts.routes]]
match = {{ team = "marketing" }}
stop_line = false
"""


@pytest.fixture
def andon(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[InProcessAndon]:
    fake_slack.forget()
    running = InProcessAndon(
        tmp_path, config=CONFIG, slack=fake_slack, clock=ManualClock(T0)
    ).start()
    yield running
    running.stop()


def _alert(andon: InProcessAndon, provider: str, payload: Any) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    answer = requests.post(
        f"{andon.url}/hooks/alerts/{provider}",
        data=body,
        headers={"Content-Type": "application/json", "X-Andon-Signature": signature(body)},
        timeout=10,
    )
    assert answer.status_code in (200, 202), answer.text
    andon.deliver()
    return answer.json()


def _firing() -> dict[str, Any]:
    return json.loads((FIXTURES / "firing.json").read_text())


def _generic(name: str, status: str = "firing", **fields: Any) -> dict[str, Any]:
    return {"name": name, "status": status, "summary": f"{name} is off", **fields}


def _dms(slack: FakeSlack, user: str) -> list[dict[str, Any]]:
    """What ``user`` read in their DMs, oldest first (the fake opens ``D…`` for ``U…``)."""
    channel = "D" + user[1:]
    return [c.params for c in slack.calls("chat.postMessage") if c.params["channel"] == channel]


def _paged(slack: FakeSlack, user: str) -> list[str]:
    """The pages in ``user``'s DMs (a handoff note is not a page)."""
    return [dm["text"] for dm in _dms(slack, user) if not dm["text"].startswith("You are on call")]


def _channel(slack: FakeSlack) -> list[str]:
    return [
        c.params["text"] for c in slack.calls("chat.postMessage") if c.params["channel"] == CHANNEL
    ]


def _tick(andon: InProcessAndon, by: timedelta) -> None:
    andon.clock.advance(by)
    andon.andon.tick_pages()
    andon.deliver()


def test_an_alertmanager_group_pages_the_oncall_person_once_and_stops_the_line(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    answer = _alert(andon, "alertmanager", _firing())
    assert answer["paged"] == 1  # one group, one page that lists its two alerts
    dms = _dms(fake_slack, ONE)
    assert [dm["text"] for dm in dms] == [
        "InstanceDown (critical) — page #1 · 2 alerts firing: Instance localhost:8081 down "
        "and 1 more",
    ]
    shown = json.dumps(dms[0]["blocks"])
    assert "Instance localhost:8081 down" in shown and "Instance localhost:8082 down" in shown
    assert '"action_id": "page_ack"' in shown and '"action_id": "page_resolve"' in shown
    line = andon.api("/api/line")
    assert line["state"] == "stopped"
    assert line["stoppage"]["causes"][0]["text"] == (
        "page: InstanceDown — Instance localhost:8081 down (and 1 more alert)"
    )
    assert _dms(fake_slack, TWO) == []


def test_every_page_of_one_delivery_is_a_cause_of_the_one_stoppage(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    body = _firing()  # two alert names and no group key: a page each
    del body["groupKey"]
    body["alerts"][1]["labels"]["alertname"] = "DiskFull"
    _alert(andon, "alertmanager", body)

    causes = andon.api("/api/line")["stoppage"]["causes"]
    assert [cause["text"] for cause in causes] == [
        "page: InstanceDown — Instance localhost:8081 down",
        "page: DiskFull — Instance localhost:8082 down",
    ]
    assert [page["stoppage_id"] for page in andon.api("/api/pages")["pages"]] == [1, 1]


def test_a_page_with_a_summary_longer_than_a_stop_reason_still_stops_the_line(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    """A stop's reason holds 2,000 characters; an alert's summary may hold more. The page is
    the cause all the same, its summary cut short with an ellipsis."""
    body = _firing()
    long = "Disk /var filling: " + "x" * 3_000
    for alert in body["alerts"]:
        alert["annotations"]["summary"] = long
    assert _alert(andon, "alertmanager", body)["paged"] == 1

    line = andon.api("/api/line")
    assert line["state"] == "stopped"
    (cause,) = line["stoppage"]["causes"]
    assert cause["text"].startswith("page: InstanceDown — Disk /var filling: xxx")
    assert cause["text"].endswith("… (and 1 more alert)") and len(cause["text"]) <= 2_000
    assert _paged(fake_slack, ONE)  # and the person on call is paged, as before


def test_the_same_alert_sent_again_while_it_fires_is_one_page(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    _alert(andon, "alertmanager", _firing())
    again = _alert(andon, "alertmanager", _firing())
    assert again["paged"] == 0 and again["unchanged"] == 2
    assert len(_dms(fake_slack, ONE)) == 1


def test_unacknowledged_it_repeats_then_climbs_to_the_next_person_then_the_channel(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    _alert(andon, "generic", _generic("signups_low", value=2))
    _tick(andon, timedelta(minutes=2))
    _tick(andon, timedelta(minutes=2))
    reminders = _paged(fake_slack, ONE)
    assert len(reminders) == 3 and reminders[1].startswith("Still firing, not acknowledged")
    latest = json.dumps(_dms(fake_slack, ONE)[-1]["blocks"])
    assert "line stopped 4 min" in latest  # what the halt costs, while it lasts
    _tick(andon, timedelta(minutes=1))  # 5 min: ack_timeout
    escalated = _paged(fake_slack, TWO)
    assert len(escalated) == 1 and "escalated to you" in escalated[0]
    _tick(andon, timedelta(minutes=5))  # 10 min: nobody again
    assert any(
        text.startswith("@here Nobody has acknowledged page #1") for text in _channel(fake_slack)
    )
    kinds = [(e["kind"], e["detail"]) for e in andon.api("/api/pages")["pages"][0]["events"]]
    assert kinds[0] == ("paged", f"to {ONE}")
    assert ("escalated", f"to {TWO}") in kinds and ("escalated", "to the channel") in kinds


def test_acknowledging_from_the_dm_stops_the_repeats(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    _alert(andon, "generic", _generic("signups_low"))
    body, kind = block_action(
        "page_ack", "1", user=ONE, name="one", response_url=fake_slack.response_url("ack")
    )
    assert andon.slack_post(body, kind).status_code == 200
    fake_slack.wait_for("response_url", lambda p: "You acknowledged page #1" in p.get("text", ""))
    andon.deliver()
    updated = fake_slack.wait_for("chat.update", lambda p: "acknowledged by" in p.get("text", ""))
    assert "page_ack" not in json.dumps(updated[-1].params["blocks"])
    assert "~" not in json.dumps(updated[-1].params["blocks"])  # struck through only when resolved
    assert "still firing" in updated[-1].params["text"]
    for _ in range(6):
        _tick(andon, timedelta(minutes=2))
    assert len(_paged(fake_slack, ONE)) == 1 and _paged(fake_slack, TWO) == []
    page = andon.api("/api/pages")["pages"][0]
    assert page["status"] == "acknowledged" and page["acked_by"] == ONE


def test_a_resolved_alert_updates_the_page_and_the_line_stays_stopped(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    _alert(andon, "alertmanager", _firing())
    resolved = json.loads((FIXTURES / "resolved.json").read_text())
    assert _alert(andon, "alertmanager", resolved)["updated"] >= 1
    fake_slack.wait_for("chat.update", lambda p: "resolved by Alertmanager" in p.get("text", ""))
    assert andon.api("/api/line")["state"] == "stopped"


def test_a_route_can_page_without_stopping_the_line(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    _alert(andon, "generic", _generic("newsletter_bounces", labels={"team": "marketing"}))
    assert len(_dms(fake_slack, ONE)) == 1
    assert andon.api("/api/line")["state"] == "running"
    assert any("leaves the line running" in text for text in _channel(fake_slack))


def test_a_flapping_alert_is_held_and_said_once(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    for _ in range(5):
        _alert(andon, "generic", _generic("disk_io"))
        _alert(andon, "generic", _generic("disk_io", "resolved"))
        andon.clock.advance(timedelta(minutes=1))
    assert len(_paged(fake_slack, ONE)) == 3  # three times in the hour: paged; the fourth is held
    flapping = [t for t in _channel(fake_slack) if "flapping" in t]
    assert flapping == ["disk_io is flapping: held, not paged"]
    assert [p["status"] for p in andon.api("/api/pages")["pages"]][:2] == ["resolved", "resolved"]


def test_oncall_shows_who_now_and_next_and_an_override_hands_over(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    def slash(text: str) -> str:
        body, kind = slash_command(
            "/oncall", text, user="U0MARIA", name="maria", response_url=fake_slack.response_url()
        )
        answer = andon.slack_post(body, kind)
        assert answer.status_code == 200, answer.text
        return answer.json()["text"]

    assert slash("").startswith(f"On call now: <@{ONE}> until")
    assert f"next: <@{TWO}>" in slash("")
    assert "is on call until" in slash("override <@U0THREE|three> until tomorrow 10:00")
    andon.deliver()
    assert _dms(fake_slack, "U0THREE")[0]["text"].startswith("You are on call now until")
    assert slash("").startswith("On call now: <@U0THREE> (covering)")
    _alert(andon, "generic", _generic("signups_low"))
    assert len(_dms(fake_slack, "U0THREE")) == 2
    assert "is not a moment" in slash("override <@U0FOUR> until someday")
    _tick(andon, timedelta(days=4))  # Monday 14:00: the override ended, the rotation moved on
    assert _dms(fake_slack, TWO)[-1]["text"].startswith("You are on call now until")


def test_a_business_metric_out_of_bounds_for_long_enough_pages_and_resolves(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    from bot.workers.checks import Checker

    fake_slack.forget()
    metric = MetricEndpoint()
    config = CONFIG + (
        f'[[checks]]\nname = "signups_per_minute"\nurl = "{metric.url}"\n'
        'json_path = "signups"\nmin = 10\nfor = "1m"\nevery = "30s"\n'
    )
    andon = InProcessAndon(tmp_path, config=config, slack=fake_slack, clock=ManualClock(T0))
    andon.start()
    checker = Checker(andon.andon)
    try:
        metric.value = 2
        checker.tick()
        andon.clock.advance(timedelta(seconds=30))
        checker.tick()
        andon.deliver()
        assert _paged(fake_slack, ONE) == []  # out of bounds, but not for a minute yet
        andon.clock.advance(timedelta(seconds=30))
        checker.tick()
        andon.deliver()
        assert _paged(fake_slack, ONE) == [
            "signups_per_minute — page #1: signups_per_minute is 2 (min 10) for 1 min"
        ]
        assert andon.api("/api/line")["state"] == "stopped"
        body, kind = slash_command(
            "/checks", "", user=ONE, name="one", response_url=fake_slack.response_url()
        )
        shown = andon.slack_post(body, kind).json()
        assert shown["text"] == "Checks: 1 firing"
        assert "signups_per_minute" in json.dumps(shown["blocks"])
        metric.value = 14
        andon.clock.advance(timedelta(seconds=30))
        checker.tick()
        andon.deliver()
        fake_slack.wait_for(
            "chat.update", lambda p: "resolved by Andon's checks" in p.get("text", "")
        )
    finally:
        checker.close()
        andon.stop()
        metric.close()


def _with_production(tmp_path: Path, slack: FakeSlack) -> tuple[InProcessAndon, Any]:
    """Andon with a repository and a production environment on this machine, and the app."""
    from tests.deploy_line import App, toml_value

    app = App(tmp_path / "git")
    config = CONFIG + (
        f"[repo]\npath = {toml_value(str(app.clone))}\n"
        f"[environments.production]\npath = {toml_value(str(tmp_path / 'srv'))}\n"
        'hosts = ["local"]\nrollback_stops_line = false\n'
    )
    andon = InProcessAndon(tmp_path / "andon", config=config, slack=slack, clock=ManualClock(T0))
    return andon.start(), app


def _ship(andon: InProcessAndon, app: Any, message: str) -> str:
    """A commit, its green build and ``/deploy`` of it by Maria, deployed: its revision."""
    from tests.ci_payloads import generic

    revision = app.commit(message, {"app.py": f"print({message!r})\n"})
    _ci(andon, generic(revision, "passed", run_id=revision[:8]))
    body, kind = slash_command(
        "/deploy",
        revision,
        user="U0MARIA",
        name="maria",
        response_url=andon.slack.response_url(),
    )
    assert "Deploying" in andon.slack_post(body, kind).json()["text"]
    assert andon.andon.deployer is not None
    andon.andon.deployer.wait(timeout=30)
    return revision


def _press_roll_back(andon: InProcessAndon, value: str) -> None:
    """The on-call person presses the page's Roll back button; the roll-back runs to its end."""
    body, kind = block_action(
        "deploy_rollback",
        value,
        user=ONE,
        name="one",
        response_url=andon.slack.response_url("rb"),
    )
    assert andon.slack_post(body, kind).status_code == 200
    andon.slack.wait_for("response_url", lambda p: "Rolling back production" in p.get("text", ""))
    assert andon.andon.deployer is not None
    andon.andon.deployer.wait(timeout=30)


def test_an_alert_soon_after_a_deploy_names_it_and_offers_to_roll_it_back(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    fake_slack.forget()
    andon, app = _with_production(tmp_path, fake_slack)
    try:
        first = _ship(andon, app, "first")
        andon.clock.advance(timedelta(minutes=40))  # outside the 30 min watch
        second = _ship(andon, app, "second")
        andon.clock.advance(timedelta(minutes=12))
        _alert(andon, "generic", _generic("checkout_errors"))
        page = _dms(fake_slack, ONE)[-1]
        shown = json.dumps(page["blocks"])
        assert f"`{second[:7]}` to production by <@U0MARIA>, 12 min ago" in shown
        assert first[:7] not in shown.split("Deployed shortly before")[1].split("Roll back")[0]
        assert f'"text": "Roll back {second[:7]}"' in shown
        assert f'"value": "production {first}"' in shown
        _press_roll_back(andon, f"production {first}")
        live = (tmp_path / "srv" / "current" / "REVISION").read_text().strip()
        assert live == first
    finally:
        andon.stop()


def _ci(andon: InProcessAndon, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    answer = requests.post(
        f"{andon.url}/hooks/ci/generic",
        data=body,
        headers={"Content-Type": "application/json", "X-Andon-Signature": signature(body)},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
