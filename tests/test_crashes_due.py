"""Due work across a SIGKILL: a page unacknowledged, a five whys half answered, a meeting
reminder and a nag due, a digest posted — a real ``andon serve`` with short intervals (its clock
cannot be moved), killed and restarted on the same database. The escalations, the reminder and
the nag still fire at their time, the conversation goes on where it stopped, and nothing fires
twice. The digest's *due at the crash* case is tested in-process, with a clock the test moves:
a real server cannot be made to sit at a weekly minute without waiting for it."""

import itertools
import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.andon import Andon
from bot.workers import digests
from core.clock import ManualClock
from storage.tables import DigestPost
from tests.ci_payloads import signature
from tests.fakes.slack import FakeSlack, file_message_text
from tests.harness import CHANNEL, AndonServer
from tests.inprocess import InProcessAndon
from tests.slack_requests import slash_command, thread_reply
from tests.waiting import eventually

# A campaign: `make campaign` (run by .ci/run after `make test`), not `make test`.
pytestmark = pytest.mark.campaign

ONE, TWO = "U0ONE", "U0TWO"
_events = itertools.count(1)


def _config(now: datetime) -> str:
    when = f"{now:%a} {now:%H:%M}".lower()  # this minute: the digest is due at once
    return f"""
[slack]
channel = "{CHANNEL}"
[oncall]
rotation = ["{ONE}", "{TWO}"]
handoff = "mon 09:00"
repeat = "1h"
ack_timeout = "6s"
[line]
nag = "8s"
[digest]
when = "{when}"
timezone = "UTC"
"""


def _posts(slack: FakeSlack, where: Callable[[dict[str, Any]], bool]) -> list[str]:
    """Every message shown: posts, and the messages files were shared with (the digest)."""
    shown = [c.params for c in slack.calls("chat.postMessage")] + slack.file_messages()
    return [p.get("text", "") for p in shown if where(p)]


def _texts(slack: FakeSlack, channel: str, thread: str | None = None) -> list[str]:
    return _posts(slack, lambda p: p.get("channel") == channel and p.get("thread_ts") == thread)


def _slash(server: AndonServer, slack: FakeSlack, command: str, text: str) -> str:
    body, kind = slash_command(
        command, text, user="U0MARIA", name="maria", response_url=slack.response_url()
    )
    answer = server.slack_post(body, kind)
    assert answer.status_code == 200, answer.text
    return answer.json()["text"]


def _say(server: AndonServer, thread: str, text: str) -> None:
    body, kind = thread_reply(
        text, user="U0MARIA", thread_ts=thread, event_id=f"EvCrash{next(_events):06d}"
    )
    assert server.slack_post(body, kind).status_code == 200


def _wait(slack: FakeSlack, thread: str, prefix: str) -> None:
    slack.wait_for(
        "chat.postMessage",
        lambda p: p.get("thread_ts") == thread and p.get("text", "").startswith(prefix),
        timeout=20,
    )


def _page(server: AndonServer) -> None:
    body = json.dumps(
        {"name": "signups_low", "status": "firing", "severity": "critical", "summary": "0/min"}
    ).encode()
    answer = requests.post(
        f"{server.url}/hooks/alerts/generic",
        data=body,
        headers={"Content-Type": "application/json", "X-Andon-Signature": signature(body)},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def _pages(slack: FakeSlack, user: str, words: str) -> list[str]:
    return [t for t in _texts(slack, "D" + user[1:]) if words in t]


def _settled(database: Path, timeout: float = 10.0) -> None:
    """Wait until the outbox holds nothing pending: what was queued so far has been sent.

    A message Slack accepted an instant before a kill, not yet marked sent, is looked for in
    Slack after the restart (docs/reliability.md, *Delivery is once*). This test is about the due
    work firing once, so it kills Andon between deliveries.
    """

    def pending() -> int:
        with sqlite3.connect(database) as connection:
            (count,) = connection.execute(
                "SELECT count(*) FROM outbox_message WHERE status = 'pending'"
            ).fetchone()
        return count

    eventually(
        lambda: pending() == 0,
        timeout=timeout,
        what=lambda: f"no message pending ({pending()} still are)",
    )


def _tick(andon: Andon, clock: ManualClock, *, ticks: int, every: timedelta) -> None:
    """The scheduler's due-work jobs, run by the test ``ticks`` times ``every`` apart, each
    followed by a delivery: what fired once and fires again would show in Slack."""
    for _ in range(ticks):
        clock.advance(every)
        andon.tick_pages()
        andon.tick_whys()
        digests.post_due(andon)
        assert andon.courier.flush(timeout=10) == 0, "messages left undelivered"


def _leave_all_four_due(server: AndonServer, slack: FakeSlack) -> tuple[int, str]:
    """The digest posted, then a stoppage whose whys stop at why 3, a meeting scheduled and a
    page sent: the escalation, the reminder and the nag are all due. Returns how many digests
    were shared and the stoppage's thread."""
    digest = slack.wait_for(
        "files.completeUploadExternal",
        lambda p: file_message_text(p).startswith("Weekly digest"),
    )
    _slash(server, slack, "/line", "stop sign-up is broken")
    thread = server.open_stoppage()["thread_ts"]
    _say(server, thread, "because the sign-up test called the real payment API")
    _wait(slack, thread, "Why 2")
    _say(server, thread, "because the test has no fake for payments")
    _wait(slack, thread, "Why 3")
    assert "scheduled" in _slash(server, slack, "/whys", "schedule in 6s")
    _page(server)
    slack.wait_for("chat.postMessage", lambda p: p.get("channel") in ("D0ONE", "D0TWO"))
    return len(digest), thread


def _wait_for_what_was_due(
    server: AndonServer, slack: FakeSlack, *, thread: str, following: str
) -> None:
    """After the restart: the conversation goes on at why 3, the reminder, the nag and both
    climbs of the escalation fire."""
    _say(server, thread, "because nobody wrote one when payments came in")
    _wait(slack, thread, "Why 4")  # the conversation goes on at why 3
    _wait(slack, thread, "Time for the five whys")
    _wait(slack, thread, "Line stopped for")
    slack.wait_for(
        "chat.postMessage",
        lambda p: p.get("channel") == "D" + following[1:] and "escalated" in p.get("text", ""),
        timeout=20,
    )
    slack.wait_for(  # the second climb, a further ack_timeout later: the channel
        "chat.postMessage", lambda p: "Nobody has acknowledged" in p.get("text", ""), timeout=20
    )


def _tick_in_process(tmp_path: Path, slack: FakeSlack, *, config: str, database_url: str) -> None:
    """Four more ticks, a tick apart, by the test itself: anything due twice would show up."""
    again = InProcessAndon(
        tmp_path / "again",
        config=config,
        slack=slack,
        clock=ManualClock(datetime.now(UTC)),
        database_url=database_url,
    )
    try:
        _tick(again.andon, again.clock, ticks=4, every=timedelta(seconds=0.25))
    finally:
        again.andon.database.dispose()


def _assert_each_fired_once(
    slack: FakeSlack, *, thread: str, paged: str, following: str, digests_shared: int
) -> None:
    in_thread = _texts(slack, CHANNEL, thread)
    assert len([t for t in in_thread if t.startswith("Why 3")]) == 1, in_thread
    assert len([t for t in in_thread if t.startswith("Time for the five whys")]) == 1
    nags = [t for t in in_thread if t.startswith("Line stopped for")]
    assert len(nags) == len(set(nags)), nags  # each nag claimed once
    assert len(_pages(slack, following, "escalated to you")) == 1
    channel = _texts(slack, CHANNEL)
    assert len([t for t in channel if "Nobody has acknowledged" in t]) == 1, channel
    assert len(_pages(slack, paged, "signups_low")) == 1  # repeat = 1h: no repeat yet
    assert len([t for t in channel if t.startswith("Weekly digest")]) == digests_shared == 1
    assert len(slack.calls("files.completeUploadExternal")) == 1  # with its chart


def test_due_work_survives_a_kill_and_fires_once(tmp_path: Path, fake_slack: FakeSlack) -> None:
    fake_slack.forget()
    database_url, config = f"sqlite:///{tmp_path / 'andon.db'}", _config(datetime.now(UTC))
    server = AndonServer(tmp_path, database_url=database_url, slack=fake_slack, config=config)
    server.env["ANDON_TICK_SECONDS"] = "0.25"
    server.start()
    try:
        digests_shared, thread = _leave_all_four_due(server, fake_slack)
        _settled(tmp_path / "andon.db")  # a kill mid-send would resend: see docs/reliability.md
        server.process.kill()  # SIGKILL with all four due
        server.process.wait()
        paged = ONE if _pages(fake_slack, ONE, "signups_low") else TWO
        following = TWO if paged == ONE else ONE
        escalated = _pages(fake_slack, following, "escalated to you")
        assert escalated == [], "the escalation fired before the kill: too slow a run"

        server.start()
        _wait_for_what_was_due(server, fake_slack, thread=thread, following=following)
        server.stop()
        _tick_in_process(tmp_path, fake_slack, config=config, database_url=database_url)
        _assert_each_fired_once(
            fake_slack,
            thread=thread,
            paged=paged,
            following=following,
            digests_shared=digests_shared,
        )
    finally:
        server.stop()


# --- the digest, in-process: due at the moment of the crash ---------------------------------

MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DIGEST_CONFIG = f'[slack]\nchannel = "{CHANNEL}"\n[digest]\nwhen = "mon 09:00"\ntimezone = "UTC"\n'


@pytest.fixture
def replicas(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[list[InProcessAndon]]:
    """Two lives of Andon on one database; the first is never started (it dies mid-flight)."""
    fake_slack.forget()
    started: list[InProcessAndon] = []
    yield started
    for andon in started:
        andon.stop()


def _life(tmp_path: Path, slack: FakeSlack, at: datetime) -> InProcessAndon:
    return InProcessAndon(tmp_path, config=DIGEST_CONFIG, slack=slack, clock=ManualClock(at))


def _digests(slack: FakeSlack) -> list[str]:
    return _posts(slack, lambda p: p.get("text", "").startswith("Weekly digest"))


def test_a_digest_claimed_just_before_a_crash_is_delivered_once_by_the_next_life(
    tmp_path: Path, fake_slack: FakeSlack, replicas: list[InProcessAndon]
) -> None:
    dying = _life(tmp_path, fake_slack, MONDAY_9 + timedelta(seconds=3))
    assert digests.post_due(dying.andon) is not None  # claimed and queued, never delivered
    dying.andon.database.dispose()  # the process is gone: its courier never ran
    assert _digests(fake_slack) == []

    after = _life(tmp_path, fake_slack, MONDAY_9 + timedelta(seconds=40)).start()
    replicas.append(after)
    assert digests.post_due(after.andon) is None  # the week is claimed already
    after.deliver()
    after.clock.advance(timedelta(hours=2))
    assert digests.post_due(after.andon) is None
    after.deliver()
    assert len(_digests(fake_slack)) == 1
    with after.andon.database.reading() as session:
        assert session.get(DigestPost, "2026-W48") is not None


def test_a_crash_inside_the_claim_leaves_the_digest_due(
    tmp_path: Path, fake_slack: FakeSlack, replicas: list[InProcessAndon], monkeypatch
) -> None:
    dying = _life(tmp_path, fake_slack, MONDAY_9 + timedelta(seconds=3))
    real_post = digests._post

    def crash(*args: Any, **kwargs: Any) -> Any:
        real_post(*args, **kwargs)
        raise SystemExit("killed between queueing the digest and the commit")

    monkeypatch.setattr(digests, "_post", crash)
    with pytest.raises(SystemExit):
        digests.post_due(dying.andon)
    monkeypatch.setattr(digests, "_post", real_post)
    dying.andon.database.dispose()

    after = _life(tmp_path, fake_slack, MONDAY_9 + timedelta(minutes=5)).start()
    replicas.append(after)
    assert digests.post_due(after.andon) is not None  # nothing was committed: still due
    after.deliver()
    assert digests.post_due(after.andon) is None
    after.deliver()
    assert len(_digests(fake_slack)) == 1
    assert len(fake_slack.calls("files.completeUploadExternal")) == 1


def test_a_digest_due_while_andon_was_down_posts_once_when_it_comes_back(
    tmp_path: Path, fake_slack: FakeSlack, replicas: list[InProcessAndon]
) -> None:
    before = _life(tmp_path, fake_slack, MONDAY_9 - timedelta(minutes=1))
    assert digests.post_due(before.andon) is None  # not yet: then Andon dies
    before.andon.database.dispose()
    back = _life(tmp_path, fake_slack, MONDAY_9 + timedelta(hours=3)).start()
    replicas.append(back)
    assert digests.post_due(back.andon) is not None
    back.deliver()
    assert digests.post_due(back.andon) is None
    back.deliver()
    assert len(_digests(fake_slack)) == 1
