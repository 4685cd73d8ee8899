"""A fake Slack Web API: a real HTTP server on loopback that records calls and answers as Slack.

It answers the methods Andon calls the way Slack documents them (``{"ok": true, ...}``), accepts
the bot token only, records ``response_url`` posts, and can be told to fail (429 with
``Retry-After``, 5xx) to play an outage — or, ``heard``, to carry a call out and then fail its
answer, as when the answer is lost on its way back.

Every message it takes stays in its conversation (tests/fakes/slack_workspace.py
``Conversations``): ``shown(channel)`` is what people see there, and ``conversations.history`` /
``conversations.replies`` read it back, with each message's metadata only when asked
(``include_all_metadata``), as Slack does.

It is as strict as Slack: a message, modal or Home tab that breaks one of Slack's rules
(tests/fakes/slack_rules.py) is refused with Slack's own error (``invalid_blocks``,
``msg_too_long``, ``no_text``, ``invalid_arguments``) and kept in ``refusals()``. A test fails
when Andon sent something Slack would refuse, unless it said it expects that (``expect_refusals``).

Files take Slack's external upload: ``files.getUploadURLExternal`` hands out an ``upload_url`` on
this same server, the bytes POSTed there are recorded as method ``upload`` (``uploaded(file_id)``
returns them), and ``files.completeUploadExternal`` shares only files whose bytes arrived, with
the message's ``blocks`` judged by the same rules as a post's.
"""

import itertools
import json
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import ParseResult, parse_qsl, urlparse

from tests.fakes import slack_rules
from tests.fakes.slack_rules import Refusal
from tests.fakes.slack_workspace import TEAM, Conversations, Files, Members

BOT_TOKEN = "xoxb-test-0000-andon"
APP_TOKEN = "xapp-test-1-andon"
BOT_USER = "UANDONBOT"
HOLD_LIMIT = 60.0  # seconds a held call waits at most, should a test never let go


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    status: int
    count: int
    retry_after: int | None = None
    methods: set[str] | None = None
    error: str | None = None  # Slack's own refusal, e.g. channel_not_found (with status 200)
    where: Callable[[dict[str, Any]], bool] | None = None  # only calls whose params match
    heard: bool = False  # Slack carries the call out, then the answer fails


# every fake alive, so a test's teardown can see what any of them refused
ALIVE: "weakref.WeakSet[FakeSlack]" = weakref.WeakSet()


@dataclass(frozen=True)
class _Reply:
    """What the fake's HTTP server sends back: status, body and extra headers."""

    status: int
    content_type: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Refused:
    """A call the fake refused as Slack would: the method, Slack's error and why."""

    method: str
    error: str
    detail: str
    params: dict[str, Any]


_VALIDATED = {
    "chat.postMessage": slack_rules.message,
    "chat.postEphemeral": slack_rules.message,
    "chat.update": slack_rules.message,
    "response_url": slack_rules.message,
    "views.open": lambda p: slack_rules.view(p, kind="modal"),
    "views.update": lambda p: slack_rules.view(p, kind="modal"),
    "views.publish": lambda p: slack_rules.view(p, kind="home"),
    "files.completeUploadExternal": slack_rules.file_share,
}


class FakeSlack:
    def __init__(self, *, token: str = BOT_TOKEN) -> None:
        self.token = token
        self.expecting_refusals = False  # this test provokes refusals on purpose
        self._refusals: list[Refused] = []
        self.socket_url: str | None = None  # where apps.connections.open sends Socket Mode
        self._calls: list[Call] = []
        self._lock = threading.Condition()
        self._faults: list[Fault] = []
        self._answering = threading.Event()  # cleared while ``holding``
        self._answering.set()
        self._ts = itertools.count(1)
        self._files = Files(self._lock)
        self._members = Members(self._lock)
        self._conversations = Conversations(self._lock)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        ALIVE.add(self)

    # --- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> "FakeSlack":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "r") -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    # --- what tests look at ------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def wait_for(
        self,
        method: str,
        where: Callable[[dict[str, Any]], bool] = lambda _p: True,
        *,
        count: int = 1,
        timeout: float = 10.0,
    ) -> list[Call]:
        """Wait until ``count`` calls of ``method`` match; return them (never a fixed sleep)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [c for c in self._calls if c.method == method and where(c.params)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(c.method, c.params.get("text")) for c in self._calls]
                    raise AssertionError(f"no {count}× {method} matching in {timeout}s; saw {seen}")
                self._lock.wait(left)

    def refusals(self) -> list[Refused]:
        """Every call refused because it broke one of Slack's rules (not the faults a test set)."""
        with self._lock:
            return list(self._refusals)

    def expect_refusals(self) -> None:
        """This test provokes refusals on purpose: teardown does not fail on them."""
        self.expecting_refusals = True

    def judge_ack(self, answer: dict[str, Any], *, what: str = "ack") -> Refusal | None:
        """A slash command's or a button's answer in the HTTP response is shown by Slack too, and
        Slack shows an error instead when it breaks a rule: judge it the same way."""
        a_message = bool(answer) and "response_action" not in answer  # a modal's answer is not
        refusal = slack_rules.message(answer) if a_message else None
        if refusal is not None:
            self._refuse(what, answer, refusal)
        return refusal

    def uploaded(self, file_id: str) -> bytes:
        """The bytes POSTed to a file's upload URL."""
        return self._files.uploaded(file_id)

    def file_messages(self) -> list[dict[str, Any]]:
        """The messages files were shared with, shaped like a post's params: ``channel``,
        ``thread_ts``, ``blocks`` and, for ``text``, what the message says first."""
        return [
            {
                "channel": c.params.get("channel_id"),
                "thread_ts": c.params.get("thread_ts"),
                "blocks": c.params.get("blocks"),
                "text": file_message_text(c.params),
                "files": c.params.get("files"),
            }
            for c in self.calls("files.completeUploadExternal")
        ]

    def shown(self, channel: str) -> list[dict[str, Any]]:
        """What people see in a conversation (by ID): every message Slack took, oldest first,
        thread replies included — a message said twice shows twice."""
        return self._conversations.shown(channel)

    def add_user(self, user_id: str, email: str, name: str) -> None:
        """A member of the workspace, found by ``users.lookupByEmail`` under ``email``."""
        self._members.add(user_id, email, name)

    def forget(self) -> None:
        with self._lock:
            self._calls.clear()

    def fail(
        self,
        status: int,
        *,
        count: int = 1,
        retry_after: int | None = None,
        methods: set[str] | None = None,
        error: str | None = None,
        where: Callable[[dict[str, Any]], bool] | None = None,
        heard: bool = False,
    ) -> None:
        """Answer the next ``count`` calls (of ``methods``, whose params match ``where``) with
        ``status``: an outage, or with ``error`` a refusal such as ``channel_not_found``.
        ``heard``: Slack carries each call out first (the message is posted), then its answer
        fails — the answer lost on its way back."""
        with self._lock:
            self._faults.append(Fault(status, count, retry_after, methods, error, where, heard))

    def heal(self) -> None:
        """The outage is over: faults not yet used up are dropped."""
        with self._lock:
            self._faults.clear()

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Slack hears and carries out every call but answers none until the block ends: whatever
        Andon answers inside the block, it answered without waiting for Slack."""
        self._answering.clear()
        try:
            yield
        finally:
            self._answering.set()

    # --- the server --------------------------------------------------------------------------

    def _answer(self, method: str, params: dict[str, Any], auth: str) -> tuple[int, dict, dict]:
        fault = self._fault(method, params)
        if fault is not None and fault.heard:
            _carried_out(self, method, params, auth)  # taken, then the answer is lost
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
            error = fault.error or ("ratelimited" if fault.status == 429 else "internal_error")
            return fault.status, {"ok": False, "error": error}, headers
        return _carried_out(self, method, params, auth)

    def _refuse(self, method: str, params: dict[str, Any], refusal: Refusal) -> None:
        with self._lock:
            self._refusals.append(Refused(method, refusal.error, refusal.detail, params))

    def _method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Slack's answer to a call that broke no rule, from the table of methods it knows."""
        ts = f"1780000000.{next(self._ts):06d}"  # every call takes a number, as ever
        answer = _ANSWERS.get(method)
        if answer is None:
            return {"ok": False, "error": "unknown_method"}
        return answer(self, params, ts)

    def _fault(self, method: str, params: dict[str, Any] | None = None) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.count <= 0 or (fault.methods is not None and method not in fault.methods):
                    continue
                if fault.where is not None and not fault.where(params or {}):
                    continue
                fault.count -= 1
                return fault
        return None

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)
            self._lock.notify_all()

    def _serve_api(self, url: ParseResult, data: bytes, headers: Message) -> _Reply:
        """A Web API call (or a ``response_url`` post): recorded, held while ``holding``, then
        answered in JSON."""
        params = _params(data.decode(), headers.get("Content-Type", ""))
        params.update(dict(parse_qsl(url.query)))
        method = (
            "response_url" if url.path.startswith("/response/") else url.path.rsplit("/", 1)[-1]
        )
        self._record(Call(method, params, dict(headers.items())))
        status, body, extra = self._answer(method, params, headers.get("Authorization", ""))
        self._answering.wait(timeout=HOLD_LIMIT)  # carried out, but not answered yet
        return _Reply(status, "application/json", json.dumps(body).encode(), extra)

    def _serve_upload(self, file_id: str, data: bytes, headers: Message) -> _Reply:
        """The bytes of a file POSTed to its upload URL: recorded, held while ``holding``, then
        received, or refused by a fault the test set."""
        self._record(
            Call("upload", {"file_id": file_id, "length": len(data)}, dict(headers.items()))
        )
        self._answering.wait(timeout=HOLD_LIMIT)
        fault = self._fault("upload")
        if fault is not None:
            status = fault.status
            text = "Too Many Requests" if status == 429 else "Service Unavailable"
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
        else:
            (status, text), extra = self._files.receive(file_id, data), {}
        return _Reply(status, "text/plain", text.encode(), extra)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                url = urlparse(self.path)
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if url.path.startswith("/upload/"):
                    reply = fake._serve_upload(url.path.rsplit("/", 1)[-1], data, self.headers)
                else:
                    reply = fake._serve_api(url, data, self.headers)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args: object) -> None:
                return

        return Handler


def _carried_out(
    fake: FakeSlack, method: str, params: dict[str, Any], auth: str
) -> tuple[int, dict, dict]:
    """A call no fault stopped: refused as Slack would, or carried out and answered."""
    if method != "response_url" and auth not in (f"Bearer {fake.token}", f"Bearer {APP_TOKEN}"):
        return 200, {"ok": False, "error": "invalid_auth"}, {}
    refusal = _VALIDATED[method](params) if method in _VALIDATED else None
    if refusal is not None:
        fake._refuse(method, params, refusal)
        answer = {
            "ok": False,
            "error": refusal.error,
            "response_metadata": {"messages": [f"[ERROR] {refusal.detail}"]},
        }
        return (400 if method == "response_url" else 200), answer, {}
    if method == "response_url":
        return 200, {"ok": True}, {}
    return 200, fake._method(method, params), {}


# --- Slack's answers, one a method: (the fake, the call's params, a fresh ts) -> the JSON --------


def _auth_test(fake: FakeSlack, params: dict[str, Any], ts: str) -> dict[str, Any]:
    return {
        "ok": True,
        "user_id": BOT_USER,
        "bot_id": "BANDON01",
        "team_id": TEAM,
        "user": "andon",
        "team": "Andon test",
        "url": "https://andon-test.slack.com/",
    }


def _post_message(fake: FakeSlack, params: dict[str, Any], ts: str) -> dict[str, Any]:
    channel = params.get("channel", "")
    if not channel:
        return {"ok": False, "error": "channel_not_found"}
    fake._conversations.take(_channel_id(channel), ts, params, user=BOT_USER)
    return {
        "ok": True,
        "channel": _channel_id(channel),  # Slack answers a #name with its ID
        "ts": ts,
        "message": {"text": params.get("text")},
    }


def _update(fake: FakeSlack, params: dict[str, Any], ts: str) -> dict[str, Any]:
    return {
        "ok": True,
        "channel": params.get("channel", ""),
        "ts": params.get("ts"),
        "text": params.get("text"),
    }


def _post_ephemeral(fake: FakeSlack, params: dict[str, Any], ts: str) -> dict[str, Any]:
    return {"ok": True, "message_ts": ts}


def _permalink(fake: FakeSlack, params: dict[str, Any], ts: str) -> dict[str, Any]:
    channel = params.get("channel", "")
    mts = str(params.get("message_ts", "")).replace(".", "")
    return {
        "ok": True,
        "channel": channel,
        "permalink": f"https://andon-test.slack.com/archives/{channel}/p{mts}",
    }


def _open_conversation(fake: FakeSlack, params: dict[str, Any], ts: str) -> dict[str, Any]:
    users = str(params.get("users", ""))
    return {"ok": True, "channel": {"id": "D" + users.split(",")[0][1:]}}


def _open_socket(fake: FakeSlack, params: dict[str, Any], ts: str) -> dict[str, Any]:
    if not fake.socket_url:
        return {"ok": False, "error": "not_allowed_token_type"}
    return {"ok": True, "url": fake.socket_url}


def _open_view(fake: FakeSlack, params: dict[str, Any], ts: str) -> dict[str, Any]:
    return {"ok": True, "view": {"id": "V0001"}}


def _publish(fake: FakeSlack, params: dict[str, Any], ts: str) -> dict[str, Any]:
    """A Home tab: ``user_id`` and a ``view`` are required (Slack: ``invalid_arguments``)."""
    user, view = params.get("user_id"), params.get("view")
    if not user or not isinstance(view, dict) or not view.get("type"):
        return {"ok": False, "error": "invalid_arguments"}
    return {"ok": True, "view": {"id": f"V0HOME{user}", **view}}


def _user_info(fake: FakeSlack, params: dict[str, Any], ts: str) -> dict[str, Any]:
    user = params.get("user", "")
    return {
        "ok": True,
        "user": {
            "id": user,
            "name": user.lower(),
            "real_name": user,
            "profile": {"email": f"{user.lower()}@example.com"},
        },
    }


_ANSWERS: dict[str, Callable[[FakeSlack, dict[str, Any], str], dict[str, Any]]] = {
    "auth.test": _auth_test,
    "chat.postMessage": _post_message,
    "chat.update": _update,
    "chat.postEphemeral": _post_ephemeral,
    "chat.getPermalink": _permalink,
    "conversations.open": _open_conversation,
    "conversations.history": lambda fake, params, _ts: fake._conversations.history(params),
    "conversations.replies": lambda fake, params, _ts: fake._conversations.replies(params),
    "apps.connections.open": _open_socket,
    "views.open": _open_view,
    "views.publish": _publish,
    "files.getUploadURLExternal": lambda fake, params, _ts: fake._files.ticket(
        params, port=fake.port
    ),
    "files.completeUploadExternal": lambda fake, params, _ts: fake._files.complete(params),
    "users.lookupByEmail": lambda fake, params, _ts: fake._members.lookup_by_email(params),
    "users.info": _user_info,
}


def file_message_text(params: dict[str, Any]) -> str:
    """What a file share's message says first: its comment, or its first block's text."""
    if params.get("initial_comment"):
        return str(params["initial_comment"])
    blocks = params.get("blocks")
    first = blocks[0] if isinstance(blocks, list) and blocks else {}
    text = first.get("text") if isinstance(first, dict) else None
    return str(text.get("text", "")) if isinstance(text, dict) else ""


def _channel_id(channel: str) -> str:
    """A stable ID for a #name, the way Slack answers a post addressed by name."""
    if not channel.startswith("#"):
        return channel
    return "C0" + "".join(c for c in channel.upper() if c.isalnum())[:9].ljust(9, "0")


def _params(raw: str, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if "json" in content_type:
        return json.loads(raw)
    params: dict[str, Any] = dict(parse_qsl(raw))
    for key in ("blocks", "attachments", "files", "metadata"):
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params
