"""Every request body bounded at the edge, before any door reads it: in size and in time.

A ``Content-Length`` over ``[http] max_body`` is answered 413 at once, unread; a body sent in
chunks is counted as it streams and refused at the limit, so no door ever holds more than the
limit whatever a stranger sends. A body that stalls (``body_stall``) or trickles past
``body_timeout`` is cut with 408. An answer given before its body was read closes the
connection, so nobody can keep it open by trickling a body nobody reads.
"""

import asyncio
import logging
from dataclasses import dataclass

from fastapi import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)
CLOSE = (b"connection", b"close")


class BodyRefused(HTTPException):
    """A body over the limit or too slow: FastAPI answers it like any HTTPException, and the
    connection is closed (the rest of the body is never read)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(status, detail, headers={"Connection": "close"})


class ClientLeftError(Exception):
    """The client hung up half-way through its body: there is nobody left to answer."""


@dataclass(frozen=True)
class Bounds:
    max_body: int  # bytes
    body_timeout: float  # seconds from the last header to the body's last byte
    body_stall: float  # seconds the body may pause between two pieces


def megabytes(size: int) -> str:
    """``5 MB``, as the limit is written in andon.toml (a MB is 1,024 KB)."""
    return f"{size / 1024 / 1024:g} MB"


class Bounded:
    """ASGI middleware: the bounds of ``[http]`` applied to every door, ``/slack/events`` too."""

    def __init__(self, app: ASGIApp, *, bounds: Bounds) -> None:
        self.app = app
        self.bounds = bounds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = _declared(scope)
        if declared is not None and declared > self.bounds.max_body:
            _said(scope, f"a body of {declared:,} bytes is over {megabytes(self.bounds.max_body)}")
            refusal = BodyRefused(413, f"the body is over {megabytes(self.bounds.max_body)}")
            await _answer(refusal, scope, receive, send)
            return
        body = _Body(receive, bounds=self.bounds, expected=chunked or bool(declared))
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                if not body.complete and CLOSE not in headers:
                    message = {**message, "headers": [*headers, CLOSE]}
            await send(message)

        try:
            await self.app(scope, body.receive, sending)
        except BodyRefused as refused:  # raised where no HTTPException handler was around it
            _said(scope, str(refused.detail))
            if not started:  # else uvicorn closes the connection, as for any broken answer
                await _answer(refused, scope, receive, sending)
        except ClientLeftError:
            pass  # uvicorn knows: it neither answers nor logs a request whose client left
        else:
            if body.refusal is not None:
                _said(scope, body.refusal)


class _Body:
    """The request's ``receive``, counting and timing each piece of the body."""

    def __init__(self, receive: Receive, *, bounds: Bounds, expected: bool) -> None:
        self._receive = receive
        self._bounds = bounds
        self.complete = not expected
        self.size = 0
        self.refusal: str | None = None
        self._deadline = asyncio.get_running_loop().time() + bounds.body_timeout

    async def receive(self) -> Message:
        if self.complete:
            return await self._receive()  # the body is in: what follows is a disconnect
        loop = asyncio.get_running_loop()
        left = self._deadline - loop.time()
        wait = min(self._bounds.body_stall, left)
        try:
            async with asyncio.timeout(max(wait, 0.0)):
                message = await self._receive()
        except TimeoutError:
            if wait < self._bounds.body_stall:
                self._refuse(408, f"the body did not arrive within {self._bounds.body_timeout:g} s")
            self._refuse(408, f"the body stalled: nothing arrived for {wait:g} s")
        if message["type"] == "http.disconnect":
            raise ClientLeftError
        self.size += len(message.get("body", b""))
        if self.size > self._bounds.max_body:
            self._refuse(413, f"the body is over {megabytes(self._bounds.max_body)}")
        self.complete = not message.get("more_body", False)
        return message

    def _refuse(self, status: int, detail: str) -> None:
        self.refusal = detail
        raise BodyRefused(status, detail)


def _declared(scope: Scope) -> tuple[int | None, bool]:
    """The body's declared length (h11 has checked it is a number), and whether it is chunked."""
    length, chunked = None, False
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = True
    return length, chunked


async def _answer(refused: BodyRefused, scope: Scope, receive: Receive, send: Send) -> None:
    answer = JSONResponse(
        {"detail": refused.detail}, status_code=refused.status_code, headers=refused.headers
    )
    await answer(scope, receive, send)


def _said(scope: Scope, why: str) -> None:
    """One line per refusal, never the body: a stranger's bytes do not reach the log."""
    client = scope.get("client")
    where = client[0] if client else "unknown"
    log.warning("refused a request to %s from %s: %s", scope.get("path", "?"), where, why)
