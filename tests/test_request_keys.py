"""A Slack request's key is recorded with what the request changes, never before: a request whose
handling fails midway leaves no key, so Slack's retry of it is acted on — once — and a copy that
races in while the first is still running is acknowledged and not acted on.

PostgreSQL, where replicas share keys: the test holds the row lock the five whys need, so a thread
reply waits inside its unit of work, where the test makes the database refuse it (its statement
cancelled, as a dying replica's transaction ends) or lets it go while a second copy waits too.
"""

import itertools
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from core.clock import ManualClock
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL
from tests.inprocess import InProcessAndon
from tests.postgres import PostgresCluster
from tests.slack_requests import signed_headers, thread_reply
from tests.waiting import eventually

CONFIG = f'[slack]\nchannel = "{CHANNEL}"\n[access]\nadmins = ["U0MARIA"]\n'
T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
NOT_ACTED_ON = "a repeat of a request already handled, not acted on"
_names = itertools.count(1)

# Backends of this database waiting on a lock: the test's own never is.
_WAITING = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> %s"
    " AND cardinality(pg_blocking_pids(pid)) > 0"
)


@pytest.fixture
def url(postgres: PostgresCluster, migrated_postgres: str) -> str:
    name = f"andon_keys_{next(_names)}_{secrets.token_hex(3)}"
    return postgres.create_database(name, template=migrated_postgres)


@pytest.fixture
def andon(tmp_path: Path, url: str, fake_slack: FakeSlack) -> Iterator[InProcessAndon]:
    fake_slack.forget()
    running = InProcessAndon(
        tmp_path, config=CONFIG, slack=fake_slack, clock=ManualClock(T0), database_url=url
    )
    running.start()
    yield running
    running.stop()


def test_an_event_that_failed_midway_is_acted_on_when_slack_retries_it(
    andon: InProcessAndon, url: str
) -> None:
    thread = _stopped(andon)
    assert _reply(andon, thread, "because the sign-up test called the real payment API")
    _asked(andon, thread, "Why 2")
    body, kind = thread_reply(
        "because the test has no fake for payments",
        user="U0MARIA",
        thread_ts=thread,
        event_id=_event_id(),
    )
    with _whys_locked(url, andon) as database:
        sent = _in_background(lambda: _post(andon, body, kind))
        waiting = eventually(lambda: _waiting(database), what="the reply waiting on the lock")
        database.execute("SELECT pg_cancel_backend(%s)", (waiting[0],))  # the database refuses
        failed = sent()
    assert failed.status_code == 500  # not a 200: Slack retries it

    retried = _post(andon, body, kind, retry=1)
    assert (retried.status_code, retried.text) == (200, "")
    _asked(andon, thread, "Why 3")
    again = _post(andon, body, kind, retry=2)  # now it was acted on: a further retry is not
    assert (again.status_code, again.text) == (200, "")
    andon.deliver()
    assert _questions(andon, thread) == ["Why 2", "Why 3"]
    stoppage = andon.api(f"/api/stoppages/{_stoppage_id(andon)}")
    assert [a["text"] for a in stoppage["whys"]["answers"]] == [
        "the sign-up test called the real payment API",
        "the test has no fake for payments",
    ]
    assert _repeats(andon) == [("U0MARIA", f"message event: {NOT_ACTED_ON}")]


def test_two_copies_of_an_event_at_once_are_heard_once(andon: InProcessAndon, url: str) -> None:
    """Both pass the door while the first is still running: the second finds the key once the
    first commits, and its unit of work rolls back with nothing done."""
    thread = _stopped(andon)
    assert _reply(andon, thread, "because the sign-up test called the real payment API")
    _asked(andon, thread, "Why 2")
    body, kind = thread_reply(
        "because the test has no fake for payments",
        user="U0MARIA",
        thread_ts=thread,
        event_id=_event_id(),
    )
    with _whys_locked(url, andon) as database:
        first = _in_background(lambda: _post(andon, body, kind))
        retry = _in_background(lambda: _post(andon, body, kind, retry=1))
        eventually(lambda: len(_waiting(database)) == 2, what="both copies waiting")
    answers = [first(), retry()]
    assert [(a.status_code, a.text) for a in answers] == [(200, "")] * 2
    _asked(andon, thread, "Why 3")
    andon.deliver()
    assert _questions(andon, thread) == ["Why 2", "Why 3"]
    assert _repeats(andon) == [("U0MARIA", f"message event: {NOT_ACTED_ON}")]


# --- helpers -----------------------------------------------------------------------------------


def _stopped(andon: InProcessAndon) -> str:
    assert andon.slash("/line", "stop sign-up is broken").startswith("You stopped the line")
    return str(andon.api("/api/line")["stoppage"]["thread_ts"])


def _stoppage_id(andon: InProcessAndon) -> int:
    return int(andon.api("/api/line")["stoppage"]["id"])


def _reply(andon: InProcessAndon, thread: str, text: str) -> bool:
    body, kind = thread_reply(text, user="U0MARIA", thread_ts=thread, event_id=_event_id())
    return _post(andon, body, kind).status_code == 200


def _post(
    andon: InProcessAndon, body: bytes, kind: str, *, retry: int | None = None
) -> requests.Response:
    headers = {"Content-Type": kind, **signed_headers(body)}
    if retry is not None:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"})
    return requests.post(andon.url + "/slack/events", data=body, headers=headers, timeout=20)


def _asked(andon: InProcessAndon, thread: str, question: str) -> None:
    andon.deliver()
    andon.slack.wait_for(
        "chat.postMessage",
        lambda p: p.get("thread_ts") == thread and p["text"].startswith(question),
    )


def _questions(andon: InProcessAndon, thread: str) -> list[str]:
    return [
        c.params["text"].split(":")[0]
        for c in andon.slack.calls("chat.postMessage")
        if c.params.get("thread_ts") == thread and c.params["text"].startswith("Why ")
    ]


def _repeats(andon: InProcessAndon) -> list[tuple[str, str]]:
    entries = andon.api("/api/audit?limit=1000")["entries"]
    return [(e["actor"]["id"], e["detail"]) for e in entries if e["action"] == "slack.repeat"]


@contextmanager
def _whys_locked(url: str, andon: InProcessAndon) -> Iterator[psycopg.Connection[Any]]:
    """The stoppage's five whys row locked by the test, until the block ends."""
    with psycopg.connect(url) as database:
        locked = database.execute(
            "SELECT stoppage_id FROM whys WHERE stoppage_id = %s FOR UPDATE", (_stoppage_id(andon),)
        ).fetchall()
        assert len(locked) == 1
        yield database
        database.rollback()


def _waiting(database: psycopg.Connection[Any]) -> list[int]:
    pid = database.info.backend_pid
    with psycopg.connect(database.info.dsn, autocommit=True) as looking:
        return [row[0] for row in looking.execute(_WAITING, (pid,)).fetchall()]


def _in_background(send: Any) -> Any:
    """``send`` run in a thread; the returned function waits for its answer."""
    answers: list[requests.Response] = []
    thread = threading.Thread(target=lambda: answers.append(send()), daemon=True)
    thread.start()

    def answer() -> requests.Response:
        thread.join(timeout=30)
        assert answers, "no answer"
        return answers[0]

    return answer


def _event_id() -> str:
    return f"EvKeys{secrets.token_hex(5).upper()}"
