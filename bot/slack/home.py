"""The Home tab: opening it publishes the person's own Home (``app_home_opened``, after the ack)."""

from typing import Any

from slack_bolt import Ack, App

from bot.andon import Andon


def register(app: App, andon: Andon) -> None:
    def opened(event: dict[str, Any]) -> None:
        user = event.get("user")
        if event.get("tab") == "home" and user and andon.homes is not None:
            andon.homes.show(str(user))

    app.event("app_home_opened")(ack=_ack, lazy=[opened])


def _ack(ack: Ack) -> None:
    ack()
