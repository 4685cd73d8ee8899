"""Slash commands (``/line``, ``/ci``): parse, execute, answer ephemerally in the ack."""

import threading
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.andon import Andon
from bot.intents.typed import COMMANDS, parse
from bot.render.reply import reply
from bot.slack import retries, status_later
from bot.slack.people import from_command
from bot.slack.text import decoded


def register(app: App, andon: Andon) -> None:
    def answer(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        intent = parse(
            command.get("command", ""),
            decoded(command.get("text", "")),
            environments=andon.config.environments,
        )
        many = status_later.hosts_to_ask(andon, intent)
        if many > status_later.ASK_LATER and command.get("response_url"):
            if retries.seen_before(andon, command):  # answered later, outside a unit of work
                ack()
                return
            ack(response_type="ephemeral", **status_later.checking(many, intent))
            status_later.answer_later(andon, intent, from_command(command), respond)
            return
        answered = threading.Event()  # a deploy it starts waits: the answer comes first
        delivery = retries.request_key(command)
        try:
            result = andon.execute(
                intent, from_command(command), answered=answered, delivery=delivery
            )
            if retries.not_acted_on(andon, command, result):
                ack()  # a copy of it answered already: acknowledged, as the middleware does
            else:
                ack(response_type="ephemeral", **reply(result))
        finally:
            answered.set()

    for name in COMMANDS:
        app.command(name)(answer)
