"""Buttons: the same commands as the slash commands, answered through ``response_url``."""

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.andon import Andon
from bot.buttons import ActionId
from bot.commands import StartLine
from bot.render.reply import reply
from bot.slack.people import from_action


def register(app: App, andon: Andon) -> None:
    def start_line(body: dict[str, Any], respond: Respond) -> None:
        result = andon.execute(StartLine(), from_action(body))
        respond(response_type="ephemeral", replace_original=False, **reply(result))

    # Ack at once; the press is handled after the ack, and answered through response_url.
    app.action(ActionId.LINE_START.value)(ack=_ack, lazy=[start_line])


def _ack(ack: Ack) -> None:
    ack()
