"""Buttons: the same commands as the slash commands, answered through ``response_url``."""

import threading
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.andon import Andon
from bot.intents.pressed import PRESSES
from bot.intents.typed import Intent
from bot.render.reply import reply
from bot.slack import retries
from bot.slack.people import from_action


def register(app: App, andon: Andon) -> None:
    for action, meaning in PRESSES.items():
        # Handled, then acknowledged, then answered through response_url: a press Slack saw
        # acknowledged is on record, even if this replica dies the next moment (Slack does not
        # send a press again; an unacknowledged one shows the person it failed).
        app.action(action.family)(_press(andon, meaning))


def _press(andon: Andon, meaning: Callable[[str], Intent]) -> Callable[..., None]:
    def press(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        actions = body.get("actions") or [{}]
        intent = meaning(str(actions[0].get("value", "")))
        actor = from_action(body)
        answered = threading.Event()  # a deploy it starts waits: the answer comes first
        try:
            result = andon.execute(
                intent, actor, answered=answered, delivery=retries.request_key(body)
            )
            ack()
            if retries.not_acted_on(andon, body, result):
                return
            if (body.get("view") or {}).get("type") == "home":
                # A Home has no response_url: the answer is the person's Home, published afresh.
                if andon.homes is not None:
                    andon.homes.show(actor.id)
                return
            respond(response_type="ephemeral", replace_original=False, **reply(result))
        finally:
            answered.set()

    return press
