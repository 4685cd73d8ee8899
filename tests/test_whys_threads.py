"""Thread answers as Slack really sends them: "Also send to channel" (``thread_broadcast``), a
screenshot with or without a comment (``file_share``), an answer edited in Slack
(``message_changed``), other apps' and Andon's own messages, deletions, joins and Slack's
encoding of ``&``, ``<``, ``>`` — signed event callbacks to a running Andon, asserting what the
thread says and what ``GET /api/stoppages/{id}`` records. And the migration that lets an edit
find its answer, on SQLite and PostgreSQL."""

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from core.clock import ManualClock
from storage import migrate
from storage.database import Database
from storage.tables import WhyAnswer
from storage.types import UTCDateTime
from tests.fakes.slack import BOT_USER, FakeSlack
from tests.harness import CHANNEL
from tests.inprocess import InProcessAndon
from tests.slack_requests import (
    bot_message,
    event_callback,
    file_share,
    message_changed,
    slash_command,
    thread_broadcast,
    thread_reply,
)
from tests.waiting import eventually

T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
CONFIG = f'[slack]\nchannel = "{CHANNEL}"\n'
WHYS = (
    "the sign-up test called the real payment API",
    "the test has no fake for payments",
    "nobody wrote one when payments came in",
    "adding a dependency has no checklist",
    "we never invested in preventing that",
)
SAID = tuple(f"because {answer}" for answer in WHYS)  # answers say they are answers
INVESTMENTS = (
    "1: add a contract test for the payment API #tests\n2: write a payments fake for tests\n"
    "3: a new-dependency checklist #process\n4: none: it did what it should\n5: none: fine"
)
WORDLESS = (
    "Andon reads words, not files: reply with your answer to why {level} in words. A file may "
    "come along — its comment is the answer."
)
_events = itertools.count(1)
_stamps = itertools.count(1)


@pytest.fixture
def andon(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[InProcessAndon]:
    fake_slack.forget()
    running = InProcessAndon(tmp_path, config=CONFIG, slack=fake_slack, clock=ManualClock(T0))
    running.start()
    yield running
    running.stop()


def _event_id() -> str:
    return f"EvTHREAD{next(_events):06d}"


def _ts() -> str:
    """A message ``ts`` of our own, to edit that message later."""
    return f"1790000000.{next(_stamps):06d}"


def _send(andon: InProcessAndon, request: tuple[bytes, str]) -> None:
    assert andon.slack_post(*request).status_code == 200
    andon.deliver()


def _stop(andon: InProcessAndon, reason: str = "sign-up is broken") -> str:
    """Stop the line; returns the thread's ``ts``."""
    body, kind = slash_command(
        "/line",
        f"stop {reason}",
        user="U0MARIA",
        name="maria",
        response_url=andon.slack.response_url(),
    )
    assert andon.slack_post(body, kind).status_code == 200
    andon.deliver()
    stoppage = andon.api("/api/line")["stoppage"]
    assert stoppage["thread_ts"], stoppage
    return stoppage["thread_ts"]


def _say(andon: InProcessAndon, thread: str, text: str, *, ts: str | None = None) -> None:
    _send(andon, thread_reply(text, user="U0MARIA", thread_ts=thread, event_id=_event_id(), ts=ts))


def _edit(andon: InProcessAndon, thread: str, ts: str, *, was: str, now: str) -> None:
    _send(
        andon,
        message_changed(
            now, was=was, user="U0MARIA", ts=ts, thread_ts=thread, event_id=_event_id()
        ),
    )


def _whys(andon: InProcessAndon) -> dict[str, Any]:
    return andon.api("/api/stoppages/1")["whys"]


def _answers(andon: InProcessAndon) -> list[str]:
    return [a["text"] for a in _whys(andon)["answers"]]


def _open_level_is(andon: InProcessAndon, level: int, timeout: float = 10.0) -> None:
    """Wait for the bot's stored state before the next reply (never a fixed sleep)."""
    eventually(
        lambda: _whys(andon)["open_level"] == level,
        timeout=timeout,
        every=0.02,
        what=lambda: f"open level {level} (it is {_whys(andon)['open_level']})",
    )


def _thread(slack: FakeSlack, thread: str) -> list[str]:
    return [
        c.params["text"]
        for c in slack.calls("chat.postMessage")
        if c.params.get("thread_ts") == thread
    ]


# --- how an answer may be posted -----------------------------------------------------------------


def test_an_answer_also_sent_to_the_channel_counts_and_the_next_why_quotes_it(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)

    _send(andon, thread_broadcast(SAID[0], user="U0MARIA", thread_ts=thread, event_id=_event_id()))

    _open_level_is(andon, 2)
    assert _thread(fake_slack, thread)[-1] == f"Why 2: why “{WHYS[0]}”?"
    assert _answers(andon) == [WHYS[0]]
    assert _whys(andon)["answers"][0]["by"]["id"] == "U0MARIA"


def test_a_screenshot_with_a_comment_counts_the_comment(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)

    _send(andon, file_share(SAID[0], user="U0MARIA", thread_ts=thread, event_id=_event_id()))

    _open_level_is(andon, 2)
    assert _thread(fake_slack, thread)[-1] == f"Why 2: why “{WHYS[0]}”?"
    assert _answers(andon) == [WHYS[0]]


def test_a_file_alone_is_told_how_to_answer_and_the_why_stays_open(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    _say(andon, thread, SAID[0])
    _open_level_is(andon, 2)

    _send(andon, file_share("", user="U0MARIA", thread_ts=thread, event_id=_event_id()))

    said = _thread(fake_slack, thread)
    assert said[-1] == WORDLESS.format(level=2)
    assert said.count(WORDLESS.format(level=2)) == 1
    assert _whys(andon)["open_level"] == 2 and _answers(andon) == [WHYS[0]]
    _say(andon, thread, SAID[1])
    _open_level_is(andon, 3)
    assert _thread(fake_slack, thread)[-1] == f"Why 3: why “{WHYS[1]}”?"


def test_a_file_alone_outside_an_open_five_whys_gets_no_reply(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    for answer in SAID:
        _say(andon, thread, answer)
    _say(andon, thread, INVESTMENTS)
    _open_level_is(andon, 7)
    before = len(fake_slack.calls("chat.postMessage"))

    _send(andon, file_share("", user="U0MARIA", thread_ts=thread, event_id=_event_id()))
    _send(andon, file_share("", user="U0MARIA", thread_ts="1780000000.1", event_id=_event_id()))

    assert len(fake_slack.calls("chat.postMessage")) == before


# --- answers edited in Slack ---------------------------------------------------------------------


def test_an_edited_answer_changes_the_record_and_the_thread_says_so(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    first, typo = _ts(), _ts()
    _say(andon, thread, SAID[0], ts=first)
    _open_level_is(andon, 2)
    _say(andon, thread, "because the test has no fkae for paymnets", ts=typo)
    _open_level_is(andon, 3)

    _edit(andon, thread, typo, was="because the test has no fkae for paymnets", now=SAID[1])

    assert _thread(fake_slack, thread)[-1] == f"Answer 2 is now: {WHYS[1]}"
    assert _answers(andon) == [WHYS[0], WHYS[1]]
    answers = _whys(andon)["answers"]
    assert answers[1]["edited_at"] is not None and answers[0]["edited_at"] is None
    assert _whys(andon)["open_level"] == 3
    _say(andon, thread, SAID[2])
    _open_level_is(andon, 4)
    assert _thread(fake_slack, thread)[-1] == f"Why 4: why “{WHYS[2]}”?"


def test_an_answer_edited_after_the_five_whys_is_done_still_corrects_the_record(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    stamps = [_ts() for _ in WHYS]
    for answer, ts in zip(SAID, stamps, strict=True):
        _say(andon, thread, answer, ts=ts)
    _say(andon, thread, INVESTMENTS)
    _open_level_is(andon, 7)

    _edit(andon, thread, stamps[3], was=SAID[3], now="because adding a dependency needs no review")

    assert _thread(fake_slack, thread)[-1] == "Answer 4 is now: adding a dependency needs no review"
    assert _answers(andon)[3] == "adding a dependency needs no review"
    assert _whys(andon)["open_level"] == 7


def test_edits_of_messages_that_were_not_answers_change_nothing(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    answer, command, elsewhere = _ts(), _ts(), _ts()
    _say(andon, thread, SAID[0], ts=answer)
    _open_level_is(andon, 2)
    _say(andon, thread, f"edit 1: {WHYS[1]}", ts=command)
    _say(andon, "1780000000.000001", "lunch?", ts=elsewhere)
    before = (_thread(fake_slack, thread), _whys(andon))

    _edit(andon, thread, command, was=f"edit 1: {WHYS[1]}", now="edit 1: something else")
    _edit(andon, "1780000000.000001", elsewhere, was="lunch?", now="lunch at noon?")
    _edit(andon, thread, _ts(), was="a message Andon never saw", now="still not an answer")
    _edit(andon, thread, answer, was=SAID[0], now=SAID[0])  # a link unfurled: same words

    assert (_thread(fake_slack, thread), _whys(andon)) == before


def test_an_edit_of_an_investment_changes_nothing(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    for answer in SAID:
        _say(andon, thread, answer)
    investments = _ts()
    _say(andon, thread, "1: add a contract test #tests", ts=investments)
    before = (_thread(fake_slack, thread), andon.api("/api/stoppages/1"))

    _edit(andon, thread, investments, was="1: add a contract test #tests", now="1: a smoke test")

    assert (_thread(fake_slack, thread), andon.api("/api/stoppages/1")) == before


def test_an_edit_that_leaves_no_words_keeps_the_answer(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    answer = _ts()
    _say(andon, thread, SAID[0], ts=answer)
    _open_level_is(andon, 2)

    _edit(andon, thread, answer, was=SAID[0], now="")

    assert _thread(fake_slack, thread)[-1] == (
        "Answer 1 stays as it was: the edit left no words. To change it, edit the message again "
        "or reply `edit 1: &lt;text&gt;`."  # mrkdwn-escaped: Slack shows "<text>"
    )
    assert _answers(andon) == [WHYS[0]]


# --- what never counts ---------------------------------------------------------------------------


def test_bots_andons_own_messages_deletions_and_joins_are_not_answers(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    _send(andon, bot_message("deployed 1a2b3c4", thread_ts=thread, event_id=_event_id()))
    _send(andon, thread_reply("as Andon", user=BOT_USER, thread_ts=thread, event_id=_event_id()))
    broadcast = thread_broadcast("a bot", user="U0BOT", thread_ts=thread, event_id=_event_id())
    _send(andon, _with(broadcast, bot_id="B0DEPLOY01"))
    deleted = {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": CHANNEL,
        "ts": "1790000099.000001",
        "deleted_ts": "1790000098.000001",
        "previous_message": {
            "type": "message",
            "user": "U0MARIA",
            "text": "a deleted reply",
            "ts": "1790000098.000001",
            "thread_ts": thread,
        },
        "event_ts": "1790000099.000001",
        "channel_type": "channel",
    }
    _send(andon, event_callback(deleted, event_id=_event_id()))
    joined = {
        "type": "message",
        "subtype": "channel_join",
        "user": "U0NEW",
        "text": "<@U0NEW> has joined the channel",
        "channel": CHANNEL,
        "ts": "1790000100.000001",
        "event_ts": "1790000100.000001",
        "channel_type": "channel",
    }
    _send(andon, event_callback(joined, event_id=_event_id()))
    edited_by_andon = message_changed(
        "Line stopped (updated)",
        was="Line stopped",
        user=BOT_USER,
        ts="1790000101.000001",
        thread_ts=thread,
        event_id=_event_id(),
    )
    _send(andon, edited_by_andon)

    assert len(_thread(fake_slack, thread)) == 1  # only Why 1
    assert _whys(andon)["open_level"] == 1 and _answers(andon) == []


def _with(request: tuple[bytes, str], **fields: Any) -> tuple[bytes, str]:
    envelope = json.loads(request[0])
    envelope["event"].update(fields)
    return json.dumps(envelope).encode(), request[1]


# --- Slack's encoding ----------------------------------------------------------------------------


def test_encoded_text_is_stored_as_the_person_typed_it(andon: InProcessAndon) -> None:
    thread = _stop(andon)
    typed = (
        "because p99 &gt; 2s &amp; errors &lt; 1% since <@U0ANA|ana> merged "
        "<https://ci.example/1|it>"
    )
    shot = _ts()
    _say(andon, thread, typed, ts=shot)
    _open_level_is(andon, 2)
    broadcast = "because a &lt;div&gt; &amp; a span"
    _send(andon, thread_broadcast(broadcast, user="U0ANA", thread_ts=thread, event_id=_event_id()))
    _open_level_is(andon, 3)
    assert _answers(andon) == [
        "p99 > 2s & errors < 1% since <@U0ANA|ana> merged it (https://ci.example/1)",
        "a <div> & a span",
    ]

    _edit(andon, thread, shot, was=typed, now="because p99 &gt; 3s &amp; <!channel> was told")

    assert _answers(andon)[0] == "p99 > 3s & @channel was told"


def test_a_typed_answer_is_decoded_before_it_is_asked_about(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    _say(andon, thread, "because p99 &gt; 2s &amp; errors &lt; 1%")
    _open_level_is(andon, 2)
    assert _answers(andon) == ["p99 > 2s & errors < 1%"]
    assert "p99" in _thread(fake_slack, thread)[-1]


# --- the migration -------------------------------------------------------------------------------


def test_answers_recorded_before_the_upgrade_survive_it_without_a_message(
    database_url: str,
) -> None:
    database = Database(database_url)
    try:
        migrate.upgrade(database, to="0008")
        at = sa.bindparam("at", type_=UTCDateTime())
        with database.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO stoppage (state, opened_at, opened_by, opened_by_name, "
                    "opened_via) VALUES ('open', :at, 'U0MARIA', 'maria', 'slack')"
                ).bindparams(at),
                {"at": T0},
            )
            connection.execute(
                sa.text(
                    'INSERT INTO why_answer (stoppage_id, level, text, "by", by_name, at) '
                    "VALUES (1, 1, 'the disk filled up', 'U0MARIA', 'maria', :at)"
                ).bindparams(at),
                {"at": T0},
            )

        migrate.upgrade(database)

        assert migrate.is_current(database)
        with database.reading() as session:
            answer = session.exec(select(WhyAnswer)).one()
        assert (answer.text, answer.at, answer.message_ts) == ("the disk filled up", T0, None)
    finally:
        database.dispose()


# --- which thread a reply is in ------------------------------------------------------------------


def test_a_reply_after_the_announcement_was_updated_still_answers(
    tmp_path: Path, fake_slack: FakeSlack, database_url: str
) -> None:
    """The announcement's updates carry its ts too; PostgreSQL returns rows in no set order (a
    row written again moves), and the reply must find the stoppage whatever the order."""
    fake_slack.forget()
    andon = InProcessAndon(
        tmp_path, config=CONFIG, slack=fake_slack, clock=ManualClock(T0), database_url=database_url
    )
    andon.start()
    try:
        thread = _stop(andon)
        _say(andon, thread, SAID[0])
        _open_level_is(andon, 2)
        _send(andon, slash_command("/whys", "schedule tomorrow 10:00", **_maria(andon)))
        _send(andon, slash_command("/line", "start", **_maria(andon)))  # updates the announcement
        with andon.andon.database.writing() as session:  # the post written again: last on disk
            session.execute(sa.text("UPDATE outbox_message SET attempts = attempts WHERE id = 1"))
        _say(andon, thread, SAID[1])
        _open_level_is(andon, 3)
        assert _thread(fake_slack, thread)[-1] == f"Why 3: why “{WHYS[1]}”?"
    finally:
        andon.stop()


def _maria(andon: InProcessAndon) -> dict[str, str]:
    return {"user": "U0MARIA", "name": "maria", "response_url": andon.slack.response_url()}
