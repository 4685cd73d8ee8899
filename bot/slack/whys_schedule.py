"""The stop notice's *Schedule the five whys* button: a modal asks when, and its submission is
``/whys schedule <when>`` — refused in the modal, under the field, when the moment is unreadable
or past, so the person corrects it where they typed it."""

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.andon import Andon
from bot.intents.pressed import ActionId
from bot.intents.typed import ScheduleWhys
from bot.render.kit import section
from bot.render.reply import Failure
from bot.slack import retries
from bot.slack.people import from_action
from core.refusal import Refusal

log = logging.getLogger(__name__)

CALLBACK = "whys_schedule"
BLOCK = "when"
FIELD = "when"
EXAMPLE = "tomorrow 10:00"


def register(app: App, andon: Andon) -> None:
    # The trigger id lives 3 seconds: ack at once, open the modal right after.
    app.action(ActionId.WHYS_SCHEDULE.family)(ack=_ack, lazy=[_opener()])
    app.view(CALLBACK)(_submitter(andon))


def _ack(ack: Ack) -> None:
    ack()


def _opener() -> Callable[..., None]:
    def open_modal(body: dict[str, Any], client: WebClient) -> None:
        value = str((body.get("actions") or [{}])[0].get("value", ""))
        client.views_open(trigger_id=body["trigger_id"], view=modal(value))

    return open_modal


def _submitter(andon: Andon) -> Callable[..., None]:
    def submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = (view.get("state") or {}).get("values") or {}
        when = str((values.get(BLOCK) or {}).get(FIELD, {}).get("value") or "").strip()
        delivery = retries.request_key(body)
        result = andon.execute(ScheduleWhys(when), from_action(body), delivery=delivery)
        if retries.not_acted_on(andon, body, result):
            ack()
        elif isinstance(result, Refusal):
            ack(response_action="errors", errors={BLOCK: result.reason.replace("`", "")[:2000]})
        elif isinstance(result, Failure):
            log.error("error %s scheduling the five whys", result.error_id)
            ack(
                response_action="errors",
                errors={
                    BLOCK: f"Something went wrong on Andon's side (error {result.error_id}); "
                    "nothing was scheduled. Tell your Andon operators the error id."
                },
            )
        else:
            ack()  # the thread hears the meeting, and the stop notice offers Start

    return submitted


def modal(stoppage: str) -> dict[str, Any]:
    """One field, filled with an example a person can accept as it is."""
    title = f"Five whys #{stoppage}" if stoppage.isdigit() else "Five whys"
    return {
        "type": "modal",
        "callback_id": CALLBACK,
        "private_metadata": stoppage if stoppage.isdigit() else "",
        "title": {"type": "plain_text", "text": title[:24]},
        "submit": {"type": "plain_text", "text": "Schedule"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(
                "When does the team meet for the five whys? The thread is reminded then, and "
                "`/line start` may run meanwhile."
            ),
            {
                "type": "input",
                "block_id": BLOCK,
                "label": {"type": "plain_text", "text": "When"},
                "hint": {
                    "type": "plain_text",
                    "text": "tomorrow 10:00, fri 14:30 or in 2h — in the team's time zone",
                },
                "element": {
                    "type": "plain_text_input",
                    "action_id": FIELD,
                    "initial_value": EXAMPLE,
                },
            },
        ],
    }
