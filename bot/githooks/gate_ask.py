"""The hook's question to Andon: over HTTP (``ANDON_URL``), else straight from the database.

Two kinds of failure, told apart because ``[gate] fail_open`` may let only the first through:
``UnreachableError`` — Andon could not be reached (no connection, no answer in time, a proxy's
502/503/504, its database down) — and ``UnansweredError`` — anything else that stops the hook
from getting an answer it can trust (a refused token, a broken config, an answer not in the
commit check's shape). Asking over HTTP gives up after ``TIMEOUT`` seconds in all, so a push
never hangs, and imports only ``json``, ``_socket`` and ``signal`` (``bot.githooks.gate_http``):
``urllib.request`` only when a proxy is set, ``ssl`` only for ``https://``.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager

from bot.githooks import gate_http
from bot.githooks.gate_failures import Answer, UnansweredError, UnreachableError

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: ``typing`` is not imported when the hook runs
    from collections.abc import Iterator, Mapping
    from typing import Any

TIMEOUT = 5.0  # seconds, in all, for the HTTP question
NOT_REACHED = (502, 503, 504)  # a proxy or a full server answering for an Andon it cannot reach


class _DeadlineError(Exception):
    pass


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
    if not url.lower().startswith(("http://", "https://")):
        scheme = url.partition(":")[0][:20]  # not the URL: it may carry a password
        raise UnansweredError(f"ANDON_URL must start with http:// or https://, not {scheme}:.")
    token = environ.get("ANDON_API_TOKEN", "").strip()
    headers = {"Content-Type": "application/json", "User-Agent": "andon-gate"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode()
    where = url.rstrip("/") + path
    try:
        with _deadline(TIMEOUT):
            if _proxied():
                status, raw = _through_proxy(where, headers, data, environ)
            else:
                status, raw = gate_http.request(
                    where, "POST", headers, data, timeout=TIMEOUT, cafile=_bundle(where, environ)
                )
    except gate_http.NotHttpError as unreadable:
        raise UnansweredError(f"Andon at {url} answered, but not in HTTP: {unreadable}.") from None
    except (_DeadlineError, TimeoutError):
        raise UnreachableError(
            f"Andon could not be reached at {url}: no answer within {TIMEOUT:g} s."
        ) from None
    except (OSError, ValueError) as broken:
        raise UnreachableError(f"Andon could not be reached at {url}: {_reason(broken)}.") from None
    return status, raw.decode("utf-8", errors="replace")


def _proxied() -> bool:
    """Whether ``urllib`` would look for a proxy: a ``*_proxy`` variable (any case) is set in
    the environment it reads. Then the question goes through ``urllib.request``, which honours
    it with ``no_proxy`` exactly as before; otherwise it would connect directly, as the hook's
    own client does."""
    return any(
        value and name.lower().endswith("_proxy") and name.lower() != "no_proxy"
        for name, value in os.environ.items()
    )


def _bundle(where: str, environ: Mapping[str, str]) -> str | None:
    if not where.lower().startswith("https:"):
        return None
    return environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or None


def _through_proxy(
    where: str, headers: dict[str, str], data: bytes, environ: Mapping[str, str]
) -> tuple[int, bytes]:
    """The question through ``urllib.request``, which finds the proxy in the environment."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(where, data, headers, method="POST")  # noqa: S310 (http(s) only)
    bundle = _bundle(where, environ)
    context = None
    if bundle:
        import ssl

        context = ssl.create_default_context(cafile=bundle)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as answered:
        with answered:
            return answered.code, answered.read()
    except urllib.error.URLError as failed:  # its cause, as the hook's own client raises it
        cause = failed.reason
        raise cause if isinstance(cause, BaseException) else OSError(cause) from None


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """One clock for the whole question: connect and every read together, not each alone."""
    import signal

    def _expired(_signum: int, _frame: object) -> None:
        raise _DeadlineError

    try:
        previous = signal.signal(signal.SIGALRM, _expired)
    except ValueError:  # not the main thread: the socket's timeout bounds each step alone
        yield
        return
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
    from bot.githooks import site_packages

    site_packages.add()  # the full way stands on SQLAlchemy and pydantic
    from bot.githooks import gate_database

    return gate_database.answer(environ, body)
