"""The durable outbox: nothing is lost when Slack is slow, down or rate-limiting."""

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import select

from bot.outbox.chat import Outgoing, Sent
from bot.outbox.courier import CLAIM, Courier
from bot.outbox.notifier import Outbox
from bot.slack.web import SlackChat
from core.clock import ManualClock, SystemClock
from core.notifier import MessageRef
from storage.database import Database
from storage.tables import OutboxMessage
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.said import Said, render

CHANNEL = "C0LINE001"

pytestmark = pytest.mark.databases("sqlite")  # the courier's rules, not the database's


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def courier(database: Database, slack: FakeSlack) -> Courier:
    client = WebClient(token=BOT_TOKEN, base_url=slack.url, timeout=5)
    return Courier(database, SlackChat(client), clock=SystemClock())


def queue(database: Database, *steps: tuple[str, str, int | None]) -> list[MessageRef]:
    """Queue ``(kind, text, parent index)`` steps in one transaction, as ``core`` would."""
    refs: list[MessageRef] = []
    with database.writing() as session:
        outbox = Outbox(session, channel=CHANNEL, clock=SystemClock(), render=render)
        for kind, text, parent in steps:
            if kind == "post":
                refs.append(outbox.post(Said(text)))
            elif kind == "reply":
                assert parent is not None
                refs.append(outbox.reply(refs[parent], Said(text)))
            elif kind == "update":
                assert parent is not None
                outbox.update(refs[parent], Said(text))
                refs.append(refs[parent])
            else:
                refs.append(outbox.dm(text.split(":")[0], Said(text)))
    return refs


def texts(slack: FakeSlack, method: str = "chat.postMessage") -> list[str]:
    return [c.params["text"] for c in slack.calls(method)]


def test_messages_go_out_in_the_order_they_were_queued(
    database: Database, slack: FakeSlack
) -> None:
    queue(database, *[("post", f"message {n}", None) for n in range(5)])
    assert courier(database, slack).flush(timeout=10) == 0
    assert texts(slack) == [f"message {n}" for n in range(5)]


def test_a_reply_goes_into_its_parents_thread(database: Database, slack: FakeSlack) -> None:
    queue(database, ("post", "line stopped", None), ("reply", "why 1?", 0))
    courier(database, slack).flush(timeout=10)
    parent, reply = slack.calls("chat.postMessage")
    assert "thread_ts" not in parent.params
    assert reply.params["thread_ts"] == _ts_of(database, "line stopped")


def test_a_reply_to_a_reply_still_hangs_off_the_root(database: Database, slack: FakeSlack) -> None:
    queue(database, ("post", "root", None), ("reply", "first", 0), ("reply", "second", 1))
    courier(database, slack).flush(timeout=10)
    replies = [c for c in slack.calls("chat.postMessage") if "thread_ts" in c.params]
    assert {c.params["thread_ts"] for c in replies} == {_ts_of(database, "root")}


def test_an_update_edits_the_message_in_place(database: Database, slack: FakeSlack) -> None:
    queue(database, ("post", "deploying 1/3", None), ("update", "deployed 3/3", 0))
    courier(database, slack).flush(timeout=10)
    (update,) = slack.calls("chat.update")
    assert update.params["ts"] == _ts_of(database, "deploying 1/3")
    assert update.params["text"] == "deployed 3/3"


def test_a_direct_message_opens_the_conversation_first(
    database: Database, slack: FakeSlack
) -> None:
    queue(database, ("dm", "U0ONCALL: you are paged", None))
    courier(database, slack).flush(timeout=10)
    assert slack.calls("conversations.open")[0].params["users"] == "U0ONCALL"
    assert slack.calls("chat.postMessage")[0].params["channel"] == "D0ONCALL"


def test_a_person_s_conversation_is_opened_once_for_all_their_dms(
    database: Database, slack: FakeSlack
) -> None:
    queue(database, *[("dm", f"U0ONCALL:page {n}", None) for n in range(3)])
    courier(database, slack).flush(timeout=10)
    assert len(slack.calls("conversations.open")) == 1
    assert [c.params["channel"] for c in slack.calls("chat.postMessage")] == ["D0ONCALL"] * 3


def test_a_conversation_slack_no_longer_knows_is_opened_again(
    database: Database, slack: FakeSlack
) -> None:
    sending = courier(database, slack)
    queue(database, ("dm", "U0ONCALL:page 1", None))
    sending.flush(timeout=10)
    slack.fail(200, error="channel_not_found", methods={"chat.postMessage"})
    queue(database, ("dm", "U0ONCALL:page 2", None))
    sending.flush(timeout=10)
    assert len(slack.calls("conversations.open")) == 2
    assert texts(slack) == ["U0ONCALL:page 1", "U0ONCALL:page 2", "U0ONCALL:page 2"]


def test_pages_by_dm_go_out_before_the_channel_posts_queued_with_them(
    database: Database, slack: FakeSlack
) -> None:
    """An alert storm queues a post and a DM per page: the people woken come first."""
    steps = [("post", f"stopped {n}", None) for n in range(3)]
    steps += [("dm", f"U0ONE:page {n}", None) for n in range(3)]
    queue(database, *steps)
    courier(database, slack).deliver_due()
    assert texts(slack) == [
        *(f"U0ONE:page {n}" for n in range(3)),
        "stopped 0",
        "stopped 1",
        "stopped 2",
    ]


def test_rate_limited_messages_wait_as_told_and_keep_their_order(
    database: Database, slack: FakeSlack
) -> None:
    slack.fail(429, count=1, retry_after=1, methods={"chat.postMessage"})
    queue(database, ("post", "first", None), ("reply", "second", 0), ("post", "third", None))
    assert courier(database, slack).flush(timeout=15) == 0
    delivered = [c.params["text"] for c in slack.calls("chat.postMessage")]
    assert delivered == ["first", "first", "second", "third"]  # the 429 answer, then each once
    assert slack.calls("conversations.history") == []  # a 429 posts nothing: no need to look


def test_an_outage_loses_nothing_and_delivers_in_order_afterwards(
    database: Database, slack: FakeSlack
) -> None:
    slack.fail(503, count=3)
    queue(database, *[("post", f"update {n}", None) for n in range(3)])
    assert courier(database, slack).flush(timeout=20) == 0
    answered = [t for t in texts(slack)][-3:]
    assert answered == ["update 0", "update 1", "update 2"]
    with database.reading() as session:
        rows = session.exec(select(OutboxMessage)).all()
    assert {r.status for r in rows} == {"sent"}
    assert rows[0].attempts >= 2 and rows[0].last_error


def test_a_message_slack_refuses_for_good_does_not_block_the_rest(
    database: Database, slack: FakeSlack
) -> None:
    with database.writing() as session:
        lost = Outbox(session, channel="", clock=SystemClock(), render=render)
        lost.post(Said("to nowhere"))
    queue(database, ("post", "still delivered", None))
    assert courier(database, slack).flush(timeout=10) == 0
    with database.reading() as session:
        failed = session.exec(select(OutboxMessage).where(OutboxMessage.status == "failed")).one()
    assert "channel_not_found" in (failed.last_error or "")
    assert "still delivered" in texts(slack)


def test_two_couriers_on_one_database_send_each_message_once(
    database: Database, slack: FakeSlack
) -> None:
    queue(database, *[("post", f"m{n}", None) for n in range(30)])
    couriers = [courier(database, slack), courier(database, slack)]
    threads = [threading.Thread(target=c.flush, kwargs={"timeout": 20}) for c in couriers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(texts(slack)) == sorted(f"m{n}" for n in range(30))


def test_a_message_queued_in_a_rolled_back_transaction_is_never_sent(
    database: Database, slack: FakeSlack
) -> None:
    with pytest.raises(RuntimeError), database.writing() as session:
        Outbox(session, channel=CHANNEL, clock=SystemClock(), render=render).post(Said("ghost"))
        raise RuntimeError("the change failed")
    courier(database, slack).flush(timeout=2)
    assert texts(slack) == []


def test_a_message_another_courier_sent_meanwhile_keeps_that_courier_s_record(
    database: Database, slack: FakeSlack
) -> None:
    """A courier slower than its claim: another sends the message too (the duplicate a claim
    running out allows); the slow one's answer, coming last, changes nothing, and the thread
    hangs off the first."""
    (started,) = queue(database, ("post", "deploy started", None))
    clock = ManualClock(datetime.now(UTC))
    chat = SlackChat(WebClient(token=BOT_TOKEN, base_url=slack.url, timeout=5))
    other = Courier(database, chat, clock=clock)
    answers: list[Sent] = []

    class SlowChat:
        def send(self, message: Outgoing) -> Sent:
            clock.advance(CLAIM + timedelta(seconds=1))
            assert other.deliver_due() == 1
            answers.append(chat.send(message))
            return answers[-1]

    Courier(database, SlowChat(), clock=clock).deliver_due()
    first = _ts_of(database, "deploy started")
    assert texts(slack) == ["deploy started", "deploy started"] and answers[0].ts != first
    with database.writing() as session:
        outbox = Outbox(session, channel=CHANNEL, clock=clock, render=render)
        outbox.update(started, Said("deploy finished"))
    other.flush(timeout=5)
    assert [c.params["ts"] for c in slack.calls("chat.update")] == [first]


LOST = {  # a message whose answer is lost, and what is queued before it
    "post": [("post", "line stopped", None)],
    "reply": [("post", "line stopped", None), ("reply", "why 1?", 0)],
    "dm": [("dm", "U0ONCALL: you are paged", None)],
}


@pytest.mark.parametrize("kind", sorted(LOST))
def test_a_message_slack_took_whose_answer_was_lost_is_not_said_twice(
    database: Database, slack: FakeSlack, kind: str
) -> None:
    """Slack posted it and its answer failed (a 500 after the post): the courier that tries
    again — another process, as after a replica died — finds it by its outbox id instead."""
    steps = LOST[kind]
    text = steps[-1][1]
    slack.fail(500, heard=True, methods={"chat.postMessage"}, where=lambda p: p["text"] == text)
    queue(database, *steps)
    courier(database, slack).deliver_due()
    assert courier(database, slack).flush(timeout=10) == 0
    shown = slack.shown("D0ONCALL" if kind == "dm" else CHANNEL)
    said = [message for message in shown if message["text"] == text]
    assert len(said) == 1, shown
    row = _row(database, text)
    assert said[0]["metadata"] == {"event_type": "andon_outbox", "event_payload": {"id": row.id}}
    assert (row.status, row.ts) == ("sent", said[0]["ts"])
    assert "not sent again" in (row.last_error or "")
    assert len(texts(slack)) == len(steps)  # each message posted once


def test_a_message_slack_cannot_be_searched_for_is_said_again_rather_than_lost(
    database: Database, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """Without the history scopes Slack will not say what it holds: both messages whose answers
    were lost are posted again (twice is better than never), and the log says why once."""
    for text in ("first", "second"):
        slack.fail(
            500, heard=True, methods={"chat.postMessage"}, where=lambda p, t=text: p["text"] == t
        )
    slack.fail(200, error="missing_scope", count=2, methods={"conversations.history"})
    queue(database, ("post", "first", None), ("post", "second", None))
    with caplog.at_level(logging.WARNING, logger="bot.slack.sent_before"):
        assert courier(database, slack).flush(timeout=15) == 0
    assert [m["text"] for m in slack.shown(CHANNEL)] == ["first", "first", "second", "second"]
    warned = [r.getMessage() for r in caplog.records if r.name == "bot.slack.sent_before"]
    assert len(warned) == 1 and "missing_scope" in warned[0], warned


def test_slack_shows_a_message_s_metadata_only_when_asked_and_refuses_it_malformed(
    slack: FakeSlack,
) -> None:
    """The fake Slack as Slack: metadata comes back with ``include_all_metadata`` only, and an
    ``event_type`` other than letters, digits and underscores is refused."""
    client = WebClient(token=BOT_TOKEN, base_url=slack.url, timeout=5)
    tagged = {"event_type": "andon_outbox", "event_payload": {"id": 7}}
    client.chat_postMessage(channel=CHANNEL, text="hello", metadata=tagged)
    (plain,) = client.conversations_history(channel=CHANNEL)["messages"]
    (full,) = client.conversations_history(channel=CHANNEL, include_all_metadata=True)["messages"]
    assert "metadata" not in plain and full["metadata"] == tagged
    slack.expect_refusals()
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(
            channel=CHANNEL, text="x", metadata={"event_type": "andon outbox", "event_payload": {}}
        )
    assert refused.value.response["error"] == "invalid_metadata_format"


def _row(database: Database, text: str) -> OutboxMessage:
    with database.reading() as session:
        rows = session.exec(select(OutboxMessage)).all()
    (row,) = [r for r in rows if r.payload["text"] == text]
    return row


def _ts_of(database: Database, text: str) -> str:
    with database.reading() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "post")).all()
    (row,) = [r for r in rows if r.payload["text"] == text]
    assert row.ts
    return row.ts
