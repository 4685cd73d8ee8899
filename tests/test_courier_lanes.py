"""The running courier sends its lanes side by side: a page's DM does not wait for the channel's
posts, and every conversation still shows its messages in the order they were queued, once."""

import threading
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.outbox.chat import Outgoing, Sent
from bot.outbox.courier import Courier
from bot.outbox.notifier import Outbox
from bot.slack.web import SlackChat
from core.clock import SystemClock
from core.notifier import MessageRef
from storage.database import Database
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.said import Said, render

CHANNEL = "C0LINE001"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


class HeldPost:
    """Slack, slow to take one channel post: it is held until a DM has gone out (or 10 s)."""

    def __init__(self, slack: FakeSlack) -> None:
        self._chat = SlackChat(WebClient(token=BOT_TOKEN, base_url=slack.url, timeout=5))
        self.posting = threading.Event()
        self.dm_sent = threading.Event()
        self.dm_before_post = False

    def send(self, message: Outgoing) -> Sent:
        if message.payload["text"] == "the line stopped":
            self.posting.set()
            self.dm_before_post = self.dm_sent.wait(timeout=10)
        sent = self._chat.send(message)
        if message.target.startswith("U"):
            self.dm_sent.set()
        return sent


@pytest.mark.databases("sqlite")
def test_a_page_s_dm_goes_out_while_a_channel_post_is_still_on_its_way(
    database: Database, slack: FakeSlack
) -> None:
    chat = HeldPost(slack)
    courier = Courier(database, chat, clock=SystemClock())
    with database.writing() as session:
        Outbox(session, channel=CHANNEL, clock=SystemClock(), render=render).post(
            Said("the line stopped")
        )
    courier.start()
    try:
        assert chat.posting.wait(timeout=10), "the channel post was never sent"
        with database.writing() as session:
            outbox = Outbox(session, channel=CHANNEL, clock=SystemClock(), render=render)
            outbox.dm("U0ONCALL", Said("you are paged"))
        courier.nudge()
        slack.wait_for("chat.postMessage", lambda p: p["channel"] == CHANNEL)
    finally:
        courier.stop()
    assert chat.dm_before_post, "the DM waited for the channel post"
    assert [m["text"] for m in slack.shown("D0ONCALL")] == ["you are paged"]
    assert [m["text"] for m in slack.shown(CHANNEL)] == ["the line stopped"]


def test_each_conversation_shows_its_messages_in_order_once(
    database: Database, slack: FakeSlack
) -> None:
    """Posts, their thread replies, an update and two people's DMs, queued interleaved: sent by
    the running courier's lanes at once, each lands once and in the order it was queued."""
    with database.writing() as session:
        outbox = Outbox(session, channel=CHANNEL, clock=SystemClock(), render=render)
        posts: list[MessageRef] = []
        for n in range(6):
            posts.append(outbox.post(Said(f"post {n}")))
            outbox.dm("U0ANA", Said(f"ana {n}"))
            outbox.reply(posts[-1], Said(f"reply {n}"))
            outbox.dm("U0BEN", Said(f"ben {n}"))
        outbox.update(posts[0], Said("post 0, updated"))
    courier = Courier(
        database,
        SlackChat(WebClient(token=BOT_TOKEN, base_url=slack.url, timeout=5)),
        clock=SystemClock(),
    )
    courier.start()
    try:
        slack.wait_for("chat.postMessage", count=24, timeout=20)
        slack.wait_for("chat.update")
    finally:
        courier.stop()
    assert [m["text"] for m in slack.shown("D0ANA")] == [f"ana {n}" for n in range(6)]
    assert [m["text"] for m in slack.shown("D0BEN")] == [f"ben {n}" for n in range(6)]
    in_channel = slack.shown(CHANNEL)
    queued = [text for n in range(6) for text in (f"post {n}", f"reply {n}")]
    assert [m["text"] for m in in_channel] == queued
    (updated,) = slack.calls("chat.update")
    assert (updated.params["ts"], updated.params["text"]) == (
        in_channel[0]["ts"],
        "post 0, updated",
    )
    assert courier.pending() == 0
