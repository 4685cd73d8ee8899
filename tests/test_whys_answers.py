"""Answers are explicit, chatter is free: the stoppage's thread is also where the team talks, so
only a reply that says so moves the five whys — ``because …``, ``why N: …``, or a reply pinned
with :pushpin: — while "on it, give me 5 min" stays talk and an investment typed early is kept.

Signed ``message`` and ``reaction_added`` events to a running Andon, the fake Slack listening.
"""

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.clock import ManualClock
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL
from tests.inprocess import InProcessAndon
from tests.slack_requests import event_callback, slash_command, thread_reply

T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # a Thursday
CONFIG = f'[slack]\nchannel = "{CHANNEL}"\n'
_events = itertools.count(1)
_stamps = itertools.count(1)


@pytest.fixture
def andon(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[InProcessAndon]:
    fake_slack.forget()
    running = InProcessAndon(tmp_path, config=CONFIG, slack=fake_slack, clock=ManualClock(T0))
    running.start()
    yield running
    running.stop()


def _stop(andon: InProcessAndon) -> str:
    body, kind = slash_command(
        "/line",
        "stop sign-up is broken",
        user="U0MARIA",
        name="maria",
        response_url=andon.slack.response_url(),
    )
    assert andon.slack_post(body, kind).status_code == 200
    andon.deliver()
    return str(andon.api("/api/line")["stoppage"]["thread_ts"])


def _say(andon: InProcessAndon, thread: str, text: str, *, user: str = "U0MARIA") -> str:
    """A reply in the thread; returns its ``ts``."""
    ts = f"1780000100.{next(_stamps):06d}"
    body, kind = thread_reply(
        text, user=user, thread_ts=thread, event_id=f"EvANS{next(_events):06d}", ts=ts
    )
    assert andon.slack_post(body, kind).status_code == 200
    andon.deliver()
    return ts


def _pin(andon: InProcessAndon, ts: str, *, user: str, reaction: str = "pushpin") -> None:
    event = {
        "type": "reaction_added",
        "user": user,
        "reaction": reaction,
        "item_user": "U0JOE",
        "item": {"type": "message", "channel": CHANNEL, "ts": ts},
        "event_ts": f"1780000200.{next(_stamps):06d}",
    }
    body, kind = event_callback(event, event_id=f"EvPIN{next(_events):06d}")
    assert andon.slack_post(body, kind).status_code == 200
    andon.deliver()


def _thread(slack: FakeSlack, thread: str) -> list[str]:
    return [
        c.params["text"]
        for c in slack.calls("chat.postMessage")
        if c.params.get("thread_ts") == thread
    ]


def _whys(andon: InProcessAndon) -> dict:
    stoppage = andon.api("/api/line")["stoppage"]
    return andon.api(f"/api/stoppages/{stoppage['id']}")["whys"]


def test_the_thread_opener_says_how_to_answer(andon: InProcessAndon, fake_slack: FakeSlack) -> None:
    _stop(andon)
    opener = fake_slack.calls("chat.postMessage")[-1].params["blocks"][0]["text"]["text"]
    assert "starts with `because …`" in opener and ":pushpin:" in opener


def test_chatter_in_the_thread_never_moves_the_five_whys(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    _say(andon, thread, "I'm looking at it, give me 5 min")
    _say(andon, thread, "on it", user="U0JOE")

    assert _whys(andon)["open_level"] == 1 and _whys(andon)["answers"] == []
    assert len(_thread(fake_slack, thread)) == 1  # the opener alone: chatter is not answered


def test_a_reply_starting_with_because_answers_the_open_why(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    _say(andon, thread, "Because: the sign-up test called the real payment API")

    assert _thread(fake_slack, thread)[-1] == (
        "Why 2: why “the sign-up test called the real payment API”?"
    )
    assert [a["text"] for a in _whys(andon)["answers"]] == [
        "the sign-up test called the real payment API"
    ]


def test_a_reply_pinned_with_the_threads_reaction_becomes_the_answer_in_its_authors_name(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    said = _say(andon, thread, "the payment sandbox was down", user="U0JOE")
    _pin(andon, said, user="U0MARIA", reaction="eyes")  # any other reaction is just a reaction
    assert _whys(andon)["open_level"] == 1

    _pin(andon, said, user="U0MARIA")

    assert _thread(fake_slack, thread)[-1] == "Why 2: why “the payment sandbox was down”?"
    answer = _whys(andon)["answers"][0]
    assert (answer["text"], answer["by"]["id"]) == ("the payment sandbox was down", "U0JOE")
    _pin(andon, said, user="U0ANA")  # pinned again: it answered already
    assert _whys(andon)["open_level"] == 2


def test_why_n_answers_that_why_only_once_it_is_asked(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    _say(andon, thread, "why 3: nobody owns sign-up")
    assert _thread(fake_slack, thread)[-1] == (
        "Why 3 is not asked yet: Why 1 is open. Answer it with `because …`."
    )
    _say(andon, thread, "why 1: the sign-up test called the real payment API")
    assert _whys(andon)["open_level"] == 2


def test_an_investment_typed_before_its_why_is_kept_and_said_to_be_kept(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    _say(andon, thread, "because the sign-up test called the real payment API")

    _say(andon, thread, "2: add a payments fake for tests <@U0LEE|lee> due 2026-12-10")

    assert _thread(fake_slack, thread)[-1] == "Noted for level 2; why 2 is still open"
    whys = _whys(andon)
    assert whys["open_level"] == 2 and len(whys["answers"]) == 1
    items = andon.api("/api/actions")["actions"]
    assert [(i["level"], i["text"], i["due"]) for i in items] == [
        (2, "add a payments fake for tests", "2026-12-10")
    ]


def test_a_level_past_five_is_refused_naming_the_levels(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    _say(andon, thread, "7: something")
    assert _thread(fake_slack, thread)[-1] == (
        "One investment per level, levels 1–5: `3: add a smoke test @maria due fri`, or "
        "`3: none: &lt;why&gt;`."
    )


def test_a_plain_at_name_from_slack_is_asked_about_not_stored(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    _say(andon, thread, "3: add a check @bob due 2026-12-10")
    assert _thread(fake_slack, thread)[-1] == (
        "Level 3: who is @bob? Mention the owner with @ and pick them from Slack's list, so "
        "Andon can tell them — nothing was recorded yet."
    )
    assert andon.api("/api/actions")["actions"] == []


@pytest.mark.parametrize(
    ("due", "said"),
    [
        ("due yesterday", "Level 3: due 2026-11-25 is in the past — when will it be done?"),
        ("due 2026-11-01", "Level 3: due 2026-11-01 is in the past — when will it be done?"),
        ("due soonish", "Level 3: Andon could not read “due soonish” — write `due fri`"),
    ],
)
def test_a_due_date_in_the_past_or_unreadable_is_asked_about(
    andon: InProcessAndon, fake_slack: FakeSlack, due: str, said: str
) -> None:
    thread = _stop(andon)
    _say(andon, thread, f"3: add a check {due}")
    assert _thread(fake_slack, thread)[-1].startswith(said)
    assert andon.api("/api/actions")["actions"] == []


def test_a_due_day_is_read_and_left_out_of_the_title(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    _say(andon, thread, "3: add a check due fri")  # T0 is a Thursday
    items = andon.api("/api/actions")["actions"]
    assert [(i["text"], i["due"]) for i in items] == [("add a check", "2026-11-27")]
