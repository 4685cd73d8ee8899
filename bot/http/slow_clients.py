"""A connection that takes too long to say what it wants is closed: uvicorn waits forever.

uvicorn bounds an idle connection between two answers (``timeout_keep_alive``) but neither a
connection that never sends a byte nor headers sent a byte every few seconds: each would hold a
connection, and a file descriptor, for as long as the stranger likes. Here a request's headers
must be complete within ``[http] header_timeout`` of the connection opening or of the last
answer; slower is answered 408 and closed (silently when nothing at all arrived). The body's own
bounds are kept by ``bot.http.bodies``.
"""

import asyncio
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)


class HeadersInTime(H11Protocol):
    """uvicorn's h11 protocol with a deadline on the request line and headers."""

    header_timeout = 10.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        self._cut: asyncio.TimerHandle | None = None
        self._heard = False
        super().connection_made(transport)  # type: ignore[arg-type]
        self._watch()

    def data_received(self, data: bytes) -> None:
        if self._cut is not None and data:
            self._heard = True
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_watching()
        super().connection_lost(exc)

    def _watch(self) -> None:
        """Armed while the connection waits for a request's headers, disarmed once they are in."""
        waiting = self.conn.their_state is h11.IDLE and not self.transport.is_closing()
        if not waiting:
            self._stop_watching()
        elif self._cut is None:
            self._heard = bool(self.conn.trailing_data[0])
            self._cut = self.loop.call_later(self.header_timeout, self._too_slow)

    def _stop_watching(self) -> None:
        if self._cut is not None:
            self._cut.cancel()
            self._cut = None

    def _too_slow(self) -> None:
        self._cut = None
        if self.transport.is_closing():
            return
        if self._heard:
            where = self.client[0] if self.client else "unknown"
            log.warning(
                "cut a connection from %s: its request's headers did not arrive within %g s",
                where,
                self.header_timeout,
            )
            self.transport.write(_answer_408(self.header_timeout))
        self.transport.close()


def protocol(*, header_timeout: float) -> type[H11Protocol]:
    """The class uvicorn builds each connection with (``uvicorn.Config(http=...)``)."""
    return type("AndonHttp", (HeadersInTime,), {"header_timeout": header_timeout})


def _answer_408(seconds: float) -> bytes:
    """Written by hand: h11 cannot answer a request whose headers it has not seen."""
    body = f'{{"detail": "the request\'s headers did not arrive within {seconds:g} s"}}'.encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body
