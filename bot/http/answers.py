"""What the HTTP server answered a request: its status, how long it took and, when asked for,
the start of a refusal's body — watched on the way out by the middlewares that log, count and
explain answers (``access_log``, ``webhook_metrics``, ``refusals``), one way for all three."""

import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class Answer:
    """``status`` is None when the request went unanswered (the client went away first)."""

    status: int | None = None
    seconds: float = 0.0
    refusal: bytes = b""  # the first bytes of a 4xx or 5xx answer's body, when kept


async def relay(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    then: Callable[[Answer], None],
    keep: int = 0,
) -> None:
    """Run the app, then tell ``then`` what it answered — an exception too, as the 500 the
    server sends for it (and raised on)."""
    answer = Answer()
    body = bytearray()
    began = time.perf_counter()

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
        elif message["type"] == "http.response.body" and (answer.status or 0) >= 400:
            body.extend(message.get("body", b"")[: max(keep - len(body), 0)])
        await send(message)

    try:
        await app(scope, receive, sending)
    except Exception:
        answer.status = answer.status or 500
        raise
    finally:
        answer.seconds = time.perf_counter() - began
        answer.refusal = bytes(body)
        then(answer)
