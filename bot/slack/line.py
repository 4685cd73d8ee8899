"""``/line stop|start|status``: parse, execute, answer ephemerally in the ack."""

from typing import Any

from slack_bolt import Ack, App

from bot.andon import Andon
from bot.commands import parse
from bot.render.reply import reply
from bot.slack.people import from_command


def register(app: App, andon: Andon) -> None:
    @app.command("/line")
    def line_command(ack: Ack, command: dict[str, Any]) -> None:
        result = andon.execute(parse("/line", command.get("text", "")), from_command(command))
        ack(response_type="ephemeral", **reply(result))
