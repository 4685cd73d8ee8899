"""One log line per HTTP request, so an operator can see what each sender got.

``POST /hooks/ci/github 202 14 ms 192.0.2.7 GitHub-Hookshot/8f3c1a2``: the method, the path,
the status, how long the answer took and who sent it — the client's address and the first
product token of its ``User-Agent``. Never a body, a header's value other than that token, nor a
query's values (a token can ride in any of them): a query shows its names only
(``?limit=…``). The line goes through the process's scrubbing log handler (``bot.logs``) like
every other. ``ANDON_ACCESS_LOG=off`` silences it.
"""

import logging
import re
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from bot.http.answers import Answer, relay

log = logging.getLogger(__name__)
PATH = 200  # characters of the path shown; the rest is cut with "…"
QUERY_NAMES = 10
NAME = 40
_PRODUCT = re.compile(rb"[A-Za-z0-9!#$%&'*+.^_`|~-]+(?:/[A-Za-z0-9!#$%&'*+.^_`|~-]+)?")


class AccessLog:
    """ASGI middleware: the outermost door, so it times and sees every answer, refusals too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        def logged(answer: Answer) -> None:
            elapsed = answer.seconds * 1000
            log.info("%s", line(scope, status=answer.status, elapsed_ms=elapsed))

        await relay(self.app, scope, receive, send, then=logged)


def line(scope: Scope, *, status: int | None, elapsed_ms: float) -> str:
    """``GET /api/line 200 3 ms 127.0.0.1 curl/8.5.0``; a request left unanswered (cancelled
    when the client went away) shows ``-`` for its status."""
    return (
        f"{str(scope.get('method', '-'))[:16]} {shown_path(scope)} "
        f"{status if status is not None else '-'} {elapsed_ms:.0f} ms {sender(scope)}"
    )


def shown_path(scope: Scope) -> str:
    """The path as sent (still percent-encoded, so it cannot break the line), and the query's
    names without their values."""
    raw = scope.get("raw_path") or scope.get("path", "").encode()
    path = raw.decode("ascii", "backslashreplace").partition("?")[0]
    path = path if len(path) <= PATH else path[: PATH - 1] + "…"
    query = scope.get("query_string", b"")
    if not query:
        return path
    names = [_clean(name) for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)]
    shown = "&".join(f"{name}=…" for name in names[:QUERY_NAMES] if name)
    more = "&…" if len(names) > QUERY_NAMES else ""
    return f"{path}?{shown or '…'}{more}"


def sender(scope: Scope) -> str:
    """The client's address and its ``User-Agent``'s product (``git/2.43.0``), or ``-``."""
    client = scope.get("client")
    address = str(client[0]) if client else "-"
    agent = next((v for k, v in scope.get("headers", []) if k == b"user-agent"), b"")
    product = _PRODUCT.match(agent.strip())
    return f"{address} {product.group(0).decode('ascii')[:NAME] if product else '-'}"


def _clean(name: str) -> str:
    """A query name as printable text, short: it is the one part of a query the line keeps."""
    kept = "".join(c if c.isprintable() and not c.isspace() else "?" for c in name)
    return kept[:NAME]
