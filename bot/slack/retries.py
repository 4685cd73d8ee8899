"""Slack re-sends an event it thinks we missed (``X-Slack-Retry-Num``); it must act only once."""

from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse

from bot.andon import Andon
from core.deliveries import first_time


def register(app: App, andon: Andon) -> None:
    @app.middleware
    def once_per_event(
        body: dict[str, Any], next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        event_id = body.get("event_id")
        if body.get("type") != "event_callback" or not event_id:
            return next()
        if not _first_time(andon, str(event_id)):
            return BoltResponse(status=200, body="")
        return next()


def _first_time(andon: Andon, event_id: str) -> bool:
    with andon.database.writing() as session:
        return first_time(session, clock=andon.clock, source="slack", key=event_id)
