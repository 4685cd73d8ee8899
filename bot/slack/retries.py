"""A Slack request is acted on at most once, whether Slack retries it or someone replays it.

Slack re-sends a request it thinks we missed (``X-Slack-Retry-Num`` over HTTP, an envelope's
``retry_attempt`` in Socket Mode), and anyone who captured a signed request can send it again
for the five minutes its signature stays valid. A retry header proves nothing either way, so
every request is known by what identifies it: an event's ``event_id``; the ``trigger_id`` Slack
gives each slash command, button press and modal submission; otherwise a digest of the parsed
body (in Socket Mode bolt has no raw bytes to hash). The listener that acts on a request passes
its key to Andon (``request_key``), which records it in the unit of work that acts — the key and
the change commit together, so a replica that dies in between leaves neither, and Slack's retry
is acted on. This middleware only looks: a request whose key is recorded (in the database, so a
restart or another replica knows it too) is acknowledged with an empty 200, audited and logged,
and not acted on; so is a copy that raced in and found the key once the first copy committed
(``not_acted_on``). A slash command is not looked up here: its listener hands the key to the unit
of work whose first statement records it or finds it (``not_acted_on`` then), so a repeat is told
from a first copy by one statement instead of a read before it (``seen_before`` for the answer
given later, outside such a unit).
"""

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from bot.andon import Andon
from bot.bus.delivery import Repeat
from bot.slack.people import from_action, from_command
from bot.slack.text import decoded
from core import audit
from core.actor import Actor
from core.audit import Outcome
from core.deliveries import SLACK, seen

log = logging.getLogger(__name__)

_INTERACTIVE = {"block_actions", "view_submission", "view_closed", "shortcut", "message_action"}
_DETAIL = 200
NOT_ACTED_ON = "a repeat of a request already handled, not acted on"


def register(app: App, andon: Andon) -> None:
    app.use(OncePerRequest(andon))


class OncePerRequest(Middleware):
    """The middleware. A class: bolt calls a function middleware through its keyword-argument
    injection, which costs each request more than the look-up itself."""

    def __init__(self, andon: Andon) -> None:
        self._andon = andon

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        if req.body.get("command") or not seen_before(self._andon, req.body):
            return next()
        return BoltResponse(status=200, body="")


def request_key(body: dict[str, Any]) -> tuple[str, str] | None:
    """The source and key a request is remembered by; None for what Slack sends that acts on
    nothing (a URL check, an options query)."""
    if body.get("type") == "event_callback":
        source, key = SLACK, body.get("event_id")
    elif body.get("command") or body.get("type") in _INTERACTIVE:
        source, key = f"{SLACK}:trigger", body.get("trigger_id")
    else:
        return None
    if key:
        return source, str(key)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return f"{SLACK}:request", hashlib.sha256(canonical.encode()).hexdigest()


def not_acted_on(andon: Andon, body: dict[str, Any], result: object) -> bool:
    """Whether Andon answered ``Repeat``: a copy of the request handled meanwhile committed its
    key first. Audited and logged like the repeats this middleware holds back."""
    if not isinstance(result, Repeat):
        return False
    try:
        _note_repeat(andon, body)
    except Exception:
        log.exception("could not record a repeat of a Slack request in the audit log")
    return True


def seen_before(andon: Andon, body: dict[str, Any]) -> bool:
    """Whether the request was handled already (then audited and logged as a repeat). When the
    database cannot say, the request goes on: the command then answers with its own error id
    (a database that is down fails it too) instead of bolt's bare 500."""
    key = request_key(body)
    if key is None:
        return False
    source, value = key
    try:
        with andon.database.reading() as session:
            if not seen(session, source=source, key=value):
                return False
        _note_repeat(andon, body)
    except Exception:
        log.exception("could not check %s %s for a repeat", source, value[:16])
        return False
    return True


def _note_repeat(andon: Andon, body: dict[str, Any]) -> None:
    actor, what, typed = _described(body)
    request = f"{what} {typed}".strip()[:_DETAIL]
    with andon.database.writing() as session:
        audit.record(
            session,
            clock=andon.clock,
            actor=actor,
            action="slack.repeat",
            outcome=Outcome.REFUSED,
            detail=f"{request}: {NOT_ACTED_ON}",
        )
    log.info("a repeat of Slack's %s from %s: acknowledged, not acted on", what, actor.id)


def _described(body: dict[str, Any]) -> tuple[Actor, str, str]:
    """Who sent it, what it is (no text of anyone's) and, for a command, what they typed."""
    if body.get("command"):
        return from_command(body), str(body["command"]), decoded(str(body.get("text") or ""))
    if body.get("type") == "event_callback":
        event = body.get("event") or {}
        user = str(event.get("user") or SLACK)
        return Actor(id=user, name=user, via="slack"), f"{event.get('type')} event", ""
    kind = str(body.get("type"))
    if kind == "block_actions":
        kind = f"button {(body.get('actions') or [{}])[0].get('action_id')}"
    elif view := body.get("view"):
        kind = f"{kind} of {view.get('callback_id')}"
    return from_action(body), kind, ""
