"""A captured Slack request sent again — the same bytes, signed with a fresh timestamp inside
Slack's five-minute window, no retry header — is acknowledged and changes nothing: a slash
command, a button press, a modal submission; after a restart too, on SQLite and PostgreSQL.
Old request keys are forgotten once no retry or replay can match them."""

import itertools
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlmodel import select

from bot.workers import scheduler
from core import deliveries
from core.clock import ManualClock
from storage.database import Database
from storage.tables import InboundDelivery
from tests.ci_payloads import post, sha
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, AndonServer
from tests.inprocess import InProcessAndon
from tests.slack_requests import (
    block_action,
    signed_headers,
    slash_command,
    thread_reply,
    view_submission,
)

T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
CONFIG = f'[slack]\nchannel = "{CHANNEL}"\n[access]\nadmins = ["U0MARIA"]\n'
WHYS = (
    "the sign-up test called the real payment API",
    "the test has no fake for payments",
    "nobody wrote one when payments came in",
    "adding a dependency has no checklist",
    "we never invested in preventing that",
)
FIXTURES = Path(__file__).parent / "fixtures"
NOT_ACTED_ON = "a repeat of a request already handled, not acted on"
_events = itertools.count(1)


def _captured(body: bytes) -> dict[str, str]:
    """The headers Slack signed the request with, two minutes ago: still inside the window."""
    return signed_headers(body, at=int(time.time()) - 120)


def _replayed(body: bytes) -> dict[str, str]:
    """The same bytes signed again now (a fresh timestamp), with no retry header."""
    return signed_headers(body, at=int(time.time()))


# --- /line start force, replayed over HTTP, before and after a restart ------------------------


def test_a_replayed_force_start_leaves_a_later_stoppage_open(
    tmp_path: Path, database_url: str, fake_slack: FakeSlack
) -> None:
    server = AndonServer(tmp_path, database_url=database_url, slack=fake_slack, config=CONFIG)
    server.start()
    try:
        _line(server, "stop stoppage A")
        a = server.open_stoppage()["id"]
        force, kind = slash_command(
            "/line", "start force hotfix", user="U0MARIA", name="maria", response_url=_url(server)
        )
        started = server.slack_post(force, kind, headers=_captured(force))
        assert "started the line" in started.json()["text"], started.text
        assert _line(server, "stop stoppage B")["text"].startswith("You stopped the line")
        b = server.open_stoppage()["id"]
        assert b != a

        for restarted in (False, True):
            if restarted:
                server.stop()
                server.start()
            replay = server.slack_post(force, kind, headers=_replayed(force))
            assert (replay.status_code, replay.text) == (200, "")
            line = server.api("/api/line").json()
            assert line["state"] == "stopped" and line["stoppage"]["id"] == b
            assert [c["text"] for c in line["stoppage"]["causes"]] == ["stoppage B"]

        audit = server.api("/api/audit?limit=1000").json()["entries"]
        starts = [(e["detail"], e["outcome"]) for e in audit if e["action"] == "line.start"]
        assert starts == [("force: hotfix", "ok")]
        repeats = [e for e in audit if e["action"] == "slack.repeat"]
        assert [(e["actor"]["id"], e["outcome"]) for e in repeats] == [("U0MARIA", "refused")] * 2
        assert {e["detail"] for e in repeats} == {f"/line start force hotfix: {NOT_ACTED_ON}"}
        log = server.log()
        assert log.count("acknowledged, not acted on") == 2
        # the start itself is an event, logged once with its reason; a repeat without what was typed
        mentions = [line for line in log.splitlines() if "hotfix" in line]
        assert len(mentions) == 1 and "andon.events: line started" in mentions[0], mentions
    finally:
        server.stop()


def _url(server: AndonServer) -> str:
    assert server.slack is not None
    return server.slack.response_url("replay")


def _line(server: AndonServer, text: str) -> dict[str, Any]:
    body, kind = slash_command(
        "/line", text, user="U0MARIA", name="maria", response_url=_url(server)
    )
    answer = server.slack_post(body, kind)
    assert answer.status_code == 200, answer.text
    return answer.json()


# --- a button press and a modal submission, replayed ------------------------------------------


@pytest.fixture
def andon(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[InProcessAndon]:
    fake_slack.forget()
    running = InProcessAndon(tmp_path, config=CONFIG, slack=fake_slack, clock=ManualClock(T0))
    running.start()
    yield running
    running.stop()


def _post(andon: InProcessAndon, body: bytes, kind: str, headers: dict[str, str]) -> str:
    answer = requests.post(
        andon.url + "/slack/events",
        data=body,
        headers={"Content-Type": kind, **headers},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    andon.deliver()
    return answer.text


def _slash(andon: InProcessAndon, command: str, text: str) -> str:
    body, kind = slash_command(
        command, text, user="U0MARIA", name="maria", response_url=andon.slack.response_url()
    )
    answer = andon.slack_post(body, kind)
    assert answer.status_code == 200, answer.text
    andon.deliver()
    return answer.json()["text"]


def _audit(andon: InProcessAndon, action: str) -> list[dict[str, Any]]:
    return [e for e in andon.api("/api/audit?limit=1000")["entries"] if e["action"] == action]


def test_a_replayed_press_of_start_the_line_does_not_start_it_again(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    _slash(andon, "/line", "stop first stoppage")
    _slash(andon, "/whys", "schedule tomorrow 10:00")
    press, kind = block_action(
        "line_start", "", user="U0JOE", name="joe", response_url=fake_slack.response_url("joe")
    )
    assert _post(andon, press, kind, _captured(press)) == ""
    answered = fake_slack.wait_for("response_url", lambda p: "started the line" in p["text"])
    assert andon.api("/api/line")["state"] == "running"
    _slash(andon, "/line", "stop second stoppage")
    _slash(andon, "/whys", "schedule tomorrow 11:00")  # a real press would start it now

    assert _post(andon, press, kind, _replayed(press)) == ""
    assert andon.api("/api/line")["state"] == "stopped"
    assert [(e["actor"]["id"], e["detail"]) for e in _audit(andon, "slack.repeat")] == [
        ("U0JOE", f"button line_start: {NOT_ACTED_ON}")
    ]
    # A new press of the same button does start it: only the replay was held back.
    again, _ = block_action(
        "line_start", "", user="U0JOE", name="joe", response_url=fake_slack.response_url("joe")
    )
    assert _post(andon, again, kind, _replayed(again)) == ""
    fake_slack.wait_for(
        "response_url", lambda p: "started the line" in p["text"], count=len(answered) + 1
    )
    assert andon.api("/api/line")["state"] == "running"
    assert [e["outcome"] for e in _audit(andon, "line.start")] == ["ok", "ok"]


def test_a_replayed_form_does_not_undo_a_later_one(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    _slash(andon, "/line", "stop sign-up is broken")
    stoppage = andon.api("/api/line")["stoppage"]
    for answer in WHYS:
        body, kind = thread_reply(
            f"because {answer}",
            user="U0MARIA",
            thread_ts=stoppage["thread_ts"],
            event_id=_event_id(),
        )
        assert _post(andon, body, kind, _replayed(body)) == ""
    first = _form(stoppage["id"], "add a contract test for payments")
    assert _post(andon, *first, _captured(first[0])) == ""
    second = _form(stoppage["id"], "write a payments fake for tests")
    assert _post(andon, *second, _replayed(second[0])) == ""

    assert _post(andon, *first, _replayed(first[0])) == ""
    items = andon.api(f"/api/stoppages/{stoppage['id']}")["investments"]
    assert [(i["level"], i["text"]) for i in items] == [(1, "write a payments fake for tests")]
    noted = [
        c.params["text"]
        for c in fake_slack.calls("chat.postMessage")
        if c.params.get("thread_ts") == stoppage["thread_ts"] and "Noted" in c.params["text"]
    ]
    assert len(noted) == 2, noted
    assert [e["detail"] for e in _audit(andon, "slack.repeat")] == [
        f"view_submission of whys_form: {NOT_ACTED_ON}"
    ]


def _form(stoppage_id: int, level_1: str) -> tuple[bytes, str]:
    values = {"level_1": {"investment": {"type": "plain_text_input", "value": level_1}}}
    return view_submission(
        "whys_form", values, user="U0JOE", name="joe", private_metadata=str(stoppage_id)
    )


def _event_id() -> str:
    return f"EvReplay{next(_events):06d}"


# --- how long keys are kept --------------------------------------------------------------------


def test_slack_keys_are_kept_a_day_and_webhook_ids_a_month(
    database: Database, clock: ManualClock
) -> None:
    with database.writing() as session:
        for source, key in (("slack", "Ev1"), ("slack:trigger", "1.2.3"), ("ci:github", "d1")):
            assert deliveries.first_time(session, clock=clock, source=source, key=key)
    clock.advance(timedelta(hours=23))  # far past Slack's five minutes, still kept
    with database.writing() as session:
        assert deliveries.forget_old(session, clock=clock) == 0
        assert not deliveries.first_time(session, clock=clock, source="slack", key="Ev1")
    clock.advance(timedelta(hours=2))
    with database.writing() as session:
        assert deliveries.forget_old(session, clock=clock) == 2
        assert not deliveries.first_time(session, clock=clock, source="ci:github", key="d1")
    clock.advance(timedelta(days=30))
    with database.writing() as session:
        assert deliveries.forget_old(session, clock=clock) == 1
        assert deliveries.first_time(session, clock=clock, source="ci:github", key="d1")


def test_the_scheduled_job_forgets_what_no_replay_or_redelivery_can_match(
    andon: InProcessAndon,
) -> None:
    assert _slash(andon, "/line", "status").startswith("The line has been running")
    payload = json.loads((FIXTURES / "github" / "workflow_run.completed.json").read_text())
    payload["workflow_run"].update(head_sha=sha(), head_branch="topic", conclusion="success")
    headers = {"X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": f"delivery-{sha()[:12]}"}
    assert "recorded" in post(andon, "github", payload, headers=headers).json()  # type: ignore[arg-type]
    assert sorted(row.source for row in _keys(andon)) == ["ci:github", "slack:trigger"]

    andon.clock.advance(timedelta(days=2))
    assert scheduler.forget_old_deliveries(andon.andon) == 1
    assert [row.source for row in _keys(andon)] == ["ci:github"]
    again = post(andon, "github", payload, headers=headers)  # type: ignore[arg-type]
    assert again.json() == {"duplicate": True}

    andon.clock.advance(timedelta(days=30))
    assert scheduler.forget_old_deliveries(andon.andon) == 1
    assert _keys(andon) == []
    # Forgotten, a redelivery is still known by the result it carries.
    again = post(andon, "github", payload, headers=headers)  # type: ignore[arg-type]
    assert again.json() == {"duplicate": True}


def _keys(andon: InProcessAndon) -> list[InboundDelivery]:
    with andon.andon.database.reading() as session:
        return list(session.exec(select(InboundDelivery)))
