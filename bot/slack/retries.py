"""Slack re-sends a request it thinks we missed (``X-Slack-Retry-Num``); it must act only once.

Events carry an ``event_id``. Slash commands and button presses carry no id of their own, but a
re-sent one has the very same body (its ``trigger_id`` is unique to one invocation), so the body's
digest is its key: a request is always remembered, and one marked as a retry whose body was seen
before is acknowledged without acting again.
"""

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse

from bot.andon import Andon
from core.deliveries import first_time

log = logging.getLogger(__name__)


def register(app: App, andon: Andon) -> None:
    @app.middleware
    def once_per_request(
        req: BoltRequest, body: dict[str, Any], next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        event_id = body.get("event_id")
        if body.get("type") == "event_callback" and event_id:
            if not _first_time(andon, "slack", str(event_id)):
                return BoltResponse(status=200, body="")
            return next()
        if body.get("command") or body.get("type") in _INTERACTIVE:
            digest = hashlib.sha256(req.raw_body.encode()).hexdigest()
            first = _first_time(andon, "slack:request", digest)
            if not first and req.headers.get("x-slack-retry-num"):
                return BoltResponse(status=200, body="")
        return next()


_INTERACTIVE = {"block_actions", "view_submission", "view_closed", "shortcut", "message_action"}


def _first_time(andon: Andon, source: str, key: str) -> bool:
    """When the database cannot say, the request goes on: the command then answers with its
    own error id (a database that is down fails it too) instead of bolt's bare 500."""
    try:
        with andon.database.writing() as session:
            return first_time(session, clock=andon.clock, source=source, key=key)
    except Exception:
        log.exception("could not check %s %s for a retry", source, key[:16])
        return True
