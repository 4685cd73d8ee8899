"""The hook's question to Andon: over HTTP (``ANDON_URL``), else straight from the database.

Two kinds of failure, told apart because ``[gate] fail_open`` may let only the first through:
``UnreachableError`` — Andon could not be reached (no connection, no answer in time, a proxy's
502/503/504, its database down) — and ``UnansweredError`` — anything else that stops the hook
from getting an answer it can trust (a refused token, a broken config, an answer not in the
commit check's shape). Asking over HTTP imports only the standard library and gives up after
``TIMEOUT`` seconds in all, so a push never hangs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the hook's start stays light: these load only on the database path
    from bot.bus.unit import Units
    from core.clock import Clock
    from core.config.file import AndonConfig
    from core.gate.decide import GateAnswer
    from core.gate.push import Push
    from storage.database import Database

TIMEOUT = 5.0  # seconds, in all, for the HTTP question
TERMINAL_CHANNEL = "line"  # bot.main's channel when there is no Slack; replies follow the thread
NOT_REACHED = (502, 503, 504)  # a proxy or a full server answering for an Andon it cannot reach


class UnreachableError(Exception):
    """Andon could not be reached; the sentence names what failed."""


class UnansweredError(Exception):
    """Andon was reached (or its settings read) but gave no answer the hook can trust."""


class _DeadlineError(Exception):
    pass


Answer = tuple[bool, str, bool]  # allow, the message for the pusher, unchecked pushes taken in


def server(url: str, environ: Mapping[str, str], body: dict[str, Any]) -> Answer:
    """``POST /api/gate``: Andon's answer."""
    status, text = _post(url, "/api/gate", environ, body)
    if status == 401:
        raise UnansweredError(
            f"Andon at {url} refused the hook's token (HTTP 401): check ANDON_API_TOKEN."
        )
    if status != 200:
        detail = text.strip().splitlines()[:1]
        shown = f": {detail[0][:200]}" if detail else ""
        said = f"Andon at {url} answered HTTP {status}{shown}."
        if status in NOT_REACHED:
            raise UnreachableError(f"Andon could not be reached: {said}")
        raise UnansweredError(said)
    try:
        answer = json.loads(text)
        allow, message = answer["allow"], answer.get("message") or ""
        if not isinstance(allow, bool) or not isinstance(message, str):
            raise TypeError
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UnansweredError(
            f"Andon at {url} answered, but not as the commit check does: {text[:200]!r}"
        ) from None
    return allow, message, answer.get("unchecked") == len(body.get("unchecked", ()))


def _post(url: str, path: str, environ: Mapping[str, str], body: dict[str, Any]) -> tuple[int, str]:
    """The status and text of Andon's answer, with the standard library only: every push pays
    for what the hook imports (``requests`` alone cost more than Python's start). Proxies come
    from the environment as with any HTTP client; ``REQUESTS_CA_BUNDLE`` is still honoured."""
    import urllib.error
    import urllib.request

    if not url.lower().startswith(("http://", "https://")):
        scheme = url.partition(":")[0][:20]  # not the URL: it may carry a password
        raise UnansweredError(f"ANDON_URL must start with http:// or https://, not {scheme}:.")
    token = environ.get("ANDON_API_TOKEN", "").strip()
    headers = {"Content-Type": "application/json", "User-Agent": "andon-gate"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode()
    where = url.rstrip("/") + path
    request = urllib.request.Request(where, data, headers, method="POST")  # noqa: S310 (http(s) only)
    try:
        with _deadline(TIMEOUT), _opened(request, environ) as response:
            return response.status, response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as answered:
        with answered:
            return answered.code, answered.read().decode("utf-8", errors="replace")
    except (_DeadlineError, TimeoutError):
        raise UnreachableError(
            f"Andon could not be reached at {url}: no answer within {TIMEOUT:g} s."
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as broken:
        cause = getattr(broken, "reason", broken)
        if isinstance(cause, TimeoutError):
            raise UnreachableError(
                f"Andon could not be reached at {url}: no answer within {TIMEOUT:g} s."
            ) from None
        raise UnreachableError(f"Andon could not be reached at {url}: {_reason(cause)}.") from None


def _opened(request: Any, environ: Mapping[str, str]) -> Any:
    import urllib.request

    bundle = environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE")
    context = None
    if bundle and request.full_url.startswith("https:"):
        import ssl

        context = ssl.create_default_context(cafile=bundle)
    return urllib.request.urlopen(request, timeout=TIMEOUT, context=context)  # noqa: S310


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """One clock for the whole question: connect and every read together, not each alone."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _expired(_signum: int, _frame: object) -> None:
        raise _DeadlineError

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _reason(broken: object) -> str:
    """ "connection refused" rather than a paragraph."""
    import re

    if isinstance(broken, OSError) and broken.strerror:
        return broken.strerror.strip().lower()
    found = re.search(r"\[Errno -?\d+\] ([^'\"\)]+)", str(broken))
    return found.group(1).strip().lower() if found else str(broken) or type(broken).__name__


def database(environ: Mapping[str, str], body: dict[str, Any]) -> Answer:
    """No server to ask: decide here, through the bus as ``andon serve`` would, queueing any
    announcement for it to send — unless the push needs nothing but a running line, which the
    short way (``bot.githooks.gate_quick``) answers without importing the ORM."""
    from bot.githooks import gate_quick

    quick = gate_quick.answer(environ, body)
    if quick is not None:
        return quick
    from sqlalchemy.exc import DBAPIError

    from core.config.file import ConfigError, load
    from core.gate.push import BadPushError, read

    path = environ.get("ANDON_CONFIG") or "./andon.toml"
    url = environ.get("ANDON_DATABASE_URL") or "sqlite:///./andon.db"
    source = gate_quick.config_bytes(environ)
    try:
        config = load(path)
        push = read(body)
    except (ConfigError, BadPushError) as broken:
        raise UnansweredError(str(broken)) from None
    except OSError as broken:
        raise UnansweredError(f"{path} could not be read: {broken}") from None
    try:
        answer = _decided(url, config, push)
    except (DBAPIError, OSError) as broken:
        said = (str(broken).strip().splitlines() or [type(broken).__name__])[0][:300]
        raise UnreachableError(
            f"Andon's database {shown_url(url)} could not be used: {said} "
            "(has `andon db upgrade` run?)"
        ) from None
    if source is not None and not config.gate.checks and gate_quick.config_bytes(environ) == source:
        gate_quick.stamp(environ, source=source, protected=config.protected_refs)
    return answer.allow, answer.message, True


def _decided(url: str, config: AndonConfig, push: Push) -> GateAnswer:
    """The bus's answer, as ``POST /api/gate`` gives it; its log goes nowhere, since the hook's
    stderr is the pusher's terminal (a failure still leaves its audit row)."""
    import logging

    from bot.bus.dispatch import Bus
    from bot.bus.events import PushAsked
    from bot.bus.unit import Units
    from core.actor import Actor
    from core.clock import SystemClock
    from storage.database import Database

    quiet = logging.getLogger("bot.bus")
    if not quiet.handlers:
        quiet.addHandler(logging.NullHandler())
    clock = SystemClock()
    database = Database(url)
    try:
        channel = config.slack.channel or TERMINAL_CHANNEL
        units = Units(database, channel=channel, clock=clock)
        hook = _Hook(config=config, clock=clock, database=database, units=units)
        return Bus(hook).handle(PushAsked(push), Actor(push.pusher, push.pusher, "git"))
    finally:
        database.dispose()


@dataclass(frozen=True)
class _Hook:
    """The engine as the hook has it (``bot.bus.engine.Engine``): no chat, no hosts."""

    config: AndonConfig
    clock: Clock
    database: Database
    units: Units
    deployer: None = None
    flag_watcher: None = None
    directory: None = None
    commits: None = None


def shown_url(url: str) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(an unreadable ANDON_DATABASE_URL)"
