"""Hostile bodies fuzzed at every door of a running ``andon serve``, on SQLite and PostgreSQL:
nested too deep, carrying NUL or lone surrogates, not UTF-8, larger than ``[http] max_body``
(announced or streamed), too slow, and Slack timestamps of every wrong shape. Each is answered
with the status its class calls for and a sentence — never a 5xx, never a row written, never a
traceback in the log. ``make fuzz`` runs it with the campaign's count of cases."""

import json
import string
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.database import Database
from tests.ci_payloads import signature
from tests.fakes.slack import FakeSlack
from tests.fuzzing import examples, fuzz, row_counts
from tests.harness import API_TOKEN, CHANNEL, WEBHOOK_SECRET, AndonServer
from tests.raw_http import CHUNK, Answer, chunked, connect, head, read_answer, send_until_answered
from tests.slack_requests import signed_headers, slash_command, thread_reply
from tests.test_fuzz_http import SEEDS

# A campaign: `make campaign` (run by .ci/run after `make test`), not `make test`.
pytestmark = pytest.mark.campaign

CONFIG = f"""[slack]
channel = "{CHANNEL}"
[gate]
protected = ["refs/heads/main"]
[http]
max_body = "1MB"
header_timeout = "1s"
body_timeout = "2s"
body_stall = "1s"
"""
LIMIT = 1024 * 1024
REF = {"old": "0" * 40, "new": "a" * 40, "ref": "refs/heads/main"}
GATE = {
    "refs": [REF],
    "commits": [{"sha": "a" * 40, "subject": "s", "author": "a", "trailers": {"Line-Fix": "x"}}],
    "pusher": "p",
}
COMMAND = slash_command("/line", "status", user="U0F", name="f", response_url="http://x/r")[0]
REPLY = json.loads(thread_reply("because", user="U0F", thread_ts="1.000001", event_id="Ev0F")[0])
# door → the bodies its senders send; a Slack command is a form (a dict, sent urlencoded)
DOORS: dict[str, list[Any]] = {
    **{
        f"/hooks/ci/{p}": [s for _, s in SEEDS[p]]
        for p in ("generic", "github", "gitlab", "buildbot", "jenkins")
    },
    "/hooks/alerts/generic": [s for _, s in SEEDS["generic-alert"]],
    **{
        f"/hooks/alerts/{p}": [s for _, s in SEEDS[p]]
        for p in ("alertmanager", "grafana", "pagerduty")
    },
    "/api/gate": [GATE],
    "/slack/events": [dict(parse_qsl(COMMAND.decode())), REPLY],
}


@dataclass
class Served:
    server: AndonServer
    database: Database


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack
) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp(f"fuzz-edge-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{workdir / 'a.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database(f"fuzz_edge_{workdir.name[-6:]}")
    server = AndonServer(workdir, database_url=url, slack=fake_slack, config=CONFIG).start()
    database = Database(url)
    yield Served(server, database)
    database.dispose()
    server.stop()


def _credentials(door: str, body: bytes) -> dict[str, str]:
    if door == "/slack/events":
        return signed_headers(body)
    if door == "/api/gate":
        return {"Authorization": f"Bearer {API_TOKEN}"}
    if door == "/hooks/ci/gitlab":
        return {"X-Gitlab-Token": WEBHOOK_SECRET}
    if door == "/hooks/ci/github":
        return {"X-Hub-Signature-256": signature(body), "X-GitHub-Event": "workflow_run"}
    return {"X-Andon-Signature": signature(body)}


def _send(served: Served, door: str, body: bytes, kind: str) -> Answer:
    sock = connect(served.server.url)
    with sock:
        headers = {"Content-Type": kind, "Content-Length": str(len(body))}
        sock.sendall(head("POST", door, {**headers, **_credentials(door, body)}) + body)
        return read_answer(sock, timeout=30)


def _judge(served: Served, before: dict[str, int], answer: Answer, allowed: set[int], sent: str):
    assert answer.status in allowed, f"{sent} → {answer.status}: {answer.body[:300]!r}"
    assert answer.detail.strip(), f"{sent} → {answer.status} without a sentence"
    assert row_counts(served.database) == before, f"{sent} was refused but wrote rows"
    log = served.server.log()
    assert "Traceback" not in log and "Exception in ASGI" not in log, log[-3000:]


# Strategies ----------------------------------------------------------------------------------

BAD = {"nul": st.just("\x00"), "surrogate": st.integers(0xD800, 0xDFFF).map(chr)}


@st.composite
def with_bad_text(draw: st.DrawFn, seed: Any, bad: str) -> Any:
    """The seed with one of its texts (a value or a key) carrying ``bad`` somewhere."""
    body = json.loads(json.dumps(seed))
    places: list[tuple[Any, Any, bool]] = []  # (container, key, is the key itself)
    pending = [body]
    while pending:
        node = pending.pop()
        items = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else ()
        )
        for key, value in list(items):
            if isinstance(node, dict):
                places.append((node, key, True))
            if isinstance(value, str):
                places.append((node, key, False))
            pending.append(value)
    node, key, is_key = draw(st.sampled_from(places))
    text = key if is_key else node[key]
    at = draw(st.integers(0, len(text)))
    changed = text[:at] + bad + text[at:]
    if is_key:
        node[changed] = node.pop(key)
    else:
        node[key] = changed
    return body


@st.composite
def deep(draw: st.DrawFn, seed: Any, *, keep: bool) -> bytes:
    """The seed with a value nested 65 to 3,000 deep in place of one of its fields, or a bare
    nest (``keep``: always inside the seed, whose secret a PagerDuty sender carries). Written
    as bytes: Python's own ``json.dumps`` cannot write what it is meant to refuse."""
    depth = draw(st.integers(65, 3000))
    pattern = draw(st.lists(st.booleans(), min_size=1, max_size=8))
    inner = draw(st.sampled_from([b"[]", b"{}", b"1", b'"x"']))
    opening = b"".join(b"[" if pattern[n % len(pattern)] else b'{"k": ' for n in range(depth))
    closing = b"".join(b"]" if pattern[n % len(pattern)] else b"}" for n in reversed(range(depth)))
    nest = opening + inner + closing
    if isinstance(seed, dict) and (keep or draw(st.booleans())):
        field = draw(st.sampled_from(sorted(k for k in seed if k != "routing_key")))
        marked = json.dumps({**seed, field: "\x00DEEP"}).encode()
        return marked.replace(b'"\\u0000DEEP"', nest)
    return nest


def _encoded(door: str, value: Any) -> bytes:
    if door == "/slack/events" and isinstance(value, dict) and "command" in value:
        return urlencode(value).encode()
    return json.dumps(value).encode()


def _kind(door: str, value: Any) -> str:
    form = door == "/slack/events" and isinstance(value, dict) and "command" in value
    return "application/x-www-form-urlencoded" if form else "application/json"


NOT_UTF8 = (
    st.binary(min_size=1, max_size=300).filter(lambda b: not _utf8(b)).map(lambda b: b"{" + b)
)


def _utf8(raw: bytes) -> bool:
    try:
        (b"{" + raw).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# The tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("door", sorted(DOORS))
@fuzz(12)
@given(data=st.data())
def test_hostile_bodies_are_refused_in_words(
    served: Served, door: str, data: st.DataObject
) -> None:
    seed = data.draw(st.sampled_from(DOORS[door]))
    # Slack's texts are kept, not refused: a NUL is dropped (tests/test_edge.py, both databases)
    texts = [] if door == "/slack/events" else ["nul", "surrogate"]
    kind_of = data.draw(st.sampled_from(["deep", "not utf-8", *texts]))
    by_key = door == "/hooks/alerts/pagerduty"  # the secret travels in the body
    if kind_of == "deep":
        body, kind, allowed = data.draw(deep(seed, keep=by_key)), "application/json", {400}
    elif kind_of == "not utf-8":
        body, kind, allowed = data.draw(NOT_UTF8), "application/json", {400}
        allowed |= {401} if by_key else set()
    else:
        value = data.draw(with_bad_text(seed, data.draw(BAD[kind_of])))
        body, kind, allowed = _encoded(door, value), _kind(door, value), {422}
        allowed |= {401} if by_key else set()  # the NUL may land in the routing key
    before = row_counts(served.database)
    answer = _send(served, door, body, kind)
    _judge(served, before, answer, allowed, f"{kind_of} {door} {body[:200]!r}")


STAMPS = (
    st.just("")
    | st.text(string.printable.strip(), max_size=20)
    | st.floats(allow_nan=True, allow_infinity=True).map(str)
    | st.integers(-(2**70), 2**70).map(str)
    | st.integers(0, 2**40).map(lambda n: f" {n} ")
    | st.just(str(int(time.time()) - 301))
)


@fuzz(25)
@given(stamp=STAMPS, sign=st.booleans())
def test_a_slack_timestamp_of_any_wrong_shape_is_401(
    served: Served, stamp: str, sign: bool
) -> None:
    now = int(time.time())
    if stamp.strip().isdigit() and abs(now - int(stamp.strip())) <= 300:
        stamp = str(now - 301)  # a timestamp Slack would send: not what this test is about
    body = COMMAND
    headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + "0" * 64}
    if sign:  # signed properly, over the wrong timestamp
        headers = {**signed_headers(body), "X-Slack-Request-Timestamp": stamp}
    before = row_counts(served.database)
    sock = connect(served.server.url)
    with sock:
        sent = {"Content-Type": "application/x-www-form-urlencoded", **headers}
        try:
            request = head("POST", "/slack/events", {**sent, "Content-Length": str(len(body))})
        except UnicodeEncodeError:
            return  # no HTTP client can send it
        sock.sendall(request + body)
        answer = read_answer(sock, timeout=30)
    if answer.status == 400:  # a header h11 refuses (uvicorn answers it, in plain text)
        assert answer.body == b"Invalid HTTP request received."
        return
    _judge(served, before, answer, {401}, f"stamp {stamp!r}")


@pytest.mark.parametrize("door", sorted(DOORS))
@settings(fuzz(2), max_examples=min(examples(2), 50))  # up to 64 MB sent each
@given(announced=st.booleans(), size=st.integers(LIMIT + 1, 2**40))
def test_a_body_over_the_limit_is_refused_at_the_limit(
    served: Served, door: str, announced: bool, size: int
) -> None:
    before = row_counts(served.database)
    sock = connect(served.server.url)
    with sock:
        headers = _credentials(door, b"")
        if announced:
            sock.sendall(head("POST", door, {**headers, "Content-Length": str(size)}))
            answer = read_answer(sock, timeout=30)
        else:
            sock.sendall(head("POST", door, {**headers, "Transfer-Encoding": "chunked"}))
            endless = chunked(b"{" * CHUNK for _ in range(min(size, 64 * LIMIT) // CHUNK + 1))
            answer = send_until_answered(sock, endless)
    _judge(served, before, answer, {413}, f"{size} bytes to {door}")
    assert answer.detail == "the body is over 1 MB"


@settings(fuzz(3), max_examples=min(examples(3), 30))  # a second or two each
@given(
    part=st.sampled_from(["headers", "body"]),
    pace=st.sampled_from([None, 0.25, 0.5]),  # None: stops sending
    door=st.sampled_from(sorted(DOORS)),
)
def test_a_slow_client_is_cut_with_408(
    served: Served, part: str, pace: float | None, door: str
) -> None:
    before = row_counts(served.database)
    sock = connect(served.server.url)
    with sock:
        if part == "headers":
            request = head("POST", door, {"Content-Length": "2"}) + b"{}"
            sock.sendall(request[:20])
            rest = (request[n : n + 1] for n in range(20, len(request)))
        else:
            headers = {**_credentials(door, b""), "Content-Length": "100000"}
            sock.sendall(head("POST", door, headers) + b"{")
            rest = (b" " for _ in range(99_999))
        answer = read_answer(sock) if pace is None else send_until_answered(sock, rest, each=pace)
    _judge(served, before, answer, {408}, f"slow {part} at {pace} to {door}")
