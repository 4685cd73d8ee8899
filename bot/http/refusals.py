"""A webhook Andon refused, one INFO line: which door, the status, and why as its answer said.

``webhook refused: alerts/generic 401 missing or wrong webhook signature or token`` — the
sender's operator finds why their alerts or builds never arrived. Only the ``detail`` of the
answer is read (Andon wrote it); never the request's body or headers. The line goes through the
scrubbing log handler like every other (``bot.logs``).
"""

import json
import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from bot.http.answers import Answer, relay

log = logging.getLogger("andon.events")

DOOR = "/hooks/"
KEPT = 4096  # bytes of an answer read for its detail; a refusal's answer is short
SAID = 300  # characters of the detail in the line


class WebhookRefusals:
    """ASGI middleware: watches the answers of ``/hooks/*`` and logs those that refuse (4xx)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith(DOOR):
            await self.app(scope, receive, send)
            return

        def explained(answer: Answer) -> None:
            if answer.status is not None and 400 <= answer.status < 500:
                _refused(path.removeprefix(DOOR), answer.status, _detail(answer.refusal))

        await relay(self.app, scope, receive, send, then=explained, keep=KEPT)


def _refused(door: str, status: int, why: str) -> None:
    door = _plain(door if len(door) <= 60 else door[:59] + "…")
    kind, _, provider = door.partition("/")
    provider = provider.partition("/")[0][:40]
    log.info(
        "webhook refused: %s %s %s",
        door,
        status,
        why,
        extra={
            "event": "webhook.refused",
            "webhook": kind,
            "provider": provider,
            "status": status,
            "reason": why,
        },
    )


def _detail(body: bytes) -> str:
    """The answer's ``detail`` (FastAPI's), one line; for a list of problems, the first."""
    try:
        detail = json.loads(body).get("detail", "")
    except (ValueError, AttributeError):
        return "-"
    if isinstance(detail, list) and detail:
        first = detail[0]
        detail = first.get("msg", first) if isinstance(first, dict) else first
    text = _plain(" ".join(str(detail).split())) or "-"
    return text if len(text) <= SAID else text[: SAID - 1] + "…"


def _plain(text: str) -> str:
    """On one line: a control character from a request could otherwise start a forged one."""
    return "".join(c if c.isprintable() else "?" for c in text)
