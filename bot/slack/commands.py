"""Slash commands (``/line``, ``/ci``): parse, execute, answer ephemerally in the ack."""

import threading
from typing import Any

from slack_bolt import Ack, App

from bot.andon import Andon
from bot.intents.typed import COMMANDS, parse
from bot.render.reply import reply
from bot.slack.people import from_command
from bot.slack.text import decoded


def register(app: App, andon: Andon) -> None:
    def answer(ack: Ack, command: dict[str, Any]) -> None:
        intent = parse(
            command.get("command", ""),
            decoded(command.get("text", "")),
            environments=andon.config.environments,
        )
        answered = threading.Event()  # a deploy it starts waits: the answer comes first
        try:
            result = andon.execute(intent, from_command(command), answered=answered)
            ack(response_type="ephemeral", **reply(result))
        finally:
            answered.set()

    for name in COMMANDS:
        app.command(name)(answer)
