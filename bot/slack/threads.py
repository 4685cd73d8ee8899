"""Messages in channels the bot is in: a person's reply in a stoppage's thread feeds its five
whys. Everything else — the bot's own messages, edits, messages outside threads — is ignored
(but acknowledged, so Slack does not retry it)."""

from typing import Any

from slack_bolt import App

from bot.andon import Andon, ThreadPlace
from core.actor import Actor


def register(app: App, andon: Andon) -> None:
    @app.event("message")
    def on_message(event: dict[str, Any]) -> None:
        if not _from_a_person_in_a_thread(event):
            return
        user = str(event["user"])
        place = ThreadPlace(channel=event.get("channel"), thread_ts=str(event["thread_ts"]))
        andon.hear(place, Actor(id=user, name=user, via="slack"), str(event.get("text") or ""))


def _from_a_person_in_a_thread(event: dict[str, Any]) -> bool:
    if event.get("bot_id") or event.get("subtype") or not event.get("user"):
        return False
    thread = event.get("thread_ts")
    return bool(thread) and thread != event.get("ts")
