"""The investments form: the thread's "Open the form" button opens a modal with one field per
level; its submission is read like thread replies (``RecordInvestments``, a command like any
other), and either everything is recorded or the form shows what is wrong under each field."""

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.andon import Andon
from bot.intents.pressed import ActionId
from bot.intents.typed import RecordInvestments
from bot.render.kit import clip, section
from bot.render.mrkdwn import said
from bot.render.reply import Failure
from bot.slack import retries
from bot.slack.people import from_action
from core.actor import Actor
from core.whys.analysis import LEVELS, Analysis, Item, analysis
from core.whys.form import FieldErrors
from core.whys.investments import Category
from core.whys.item_status import ItemStatus
from storage.ids import fits
from storage.tables import Stoppage

CALLBACK = "whys_form"
FIELD = "investment"
HINT = "an action @owner due fri (or YYYY-MM-DD) #category, or none: <why>"
_LABEL = 150
_TAG = {
    Category.TESTS: "tests",
    Category.COMMIT: "commit",
    Category.DEPLOY: "deploy",
    Category.ALERTING: "alerting",
    Category.PROCESS: "process",
}


def register(app: App, andon: Andon) -> None:
    # The trigger id lives 3 seconds: ack at once, open the modal right after.
    app.action(ActionId.WHYS_FORM.family)(ack=_ack, lazy=[_opener(andon)])
    app.view(CALLBACK)(_submitter(andon))


def _ack(ack: Ack) -> None:
    ack()


def _opener(andon: Andon) -> Callable[..., None]:
    def open_form(body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        value = str((body.get("actions") or [{}])[0].get("value", ""))
        with andon.database.reading() as session:
            found = session.get(Stoppage, int(value)) if _names_a_row(value) else None
            shown = analysis(session, found.id) if found and found.id is not None else None
        if shown is None:
            text = f"There is no stoppage {value!r} to invest for."
            respond(response_type="ephemeral", replace_original=False, text=text)
            return
        client.views_open(trigger_id=body["trigger_id"], view=modal(shown))

    return open_form


def _submitter(andon: Andon) -> Callable[..., None]:
    def submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        errors = _record(andon, body, view)
        if errors:
            ack(response_action="errors", errors=errors)
        else:
            ack()

    return submitted


def _record(andon: Andon, body: dict[str, Any], view: dict[str, Any]) -> dict[str, str]:
    """The form's fields into the analysis; what is wrong, per block, when nothing was taken."""
    values = (view.get("state") or {}).get("values") or {}
    fields = tuple(
        str((values.get(_block(level)) or {}).get(FIELD, {}).get("value") or "")
        for level in range(1, LEVELS + 1)
    )
    intent = RecordInvestments(str(view.get("private_metadata") or ""), fields)
    result = andon.execute(intent, from_action(body), delivery=retries.request_key(body))
    if retries.not_acted_on(andon, body, result):
        return {}
    if isinstance(result, Failure):
        return {
            _block(1): f"Something went wrong on Andon's side (error {result.error_id}); nothing "
            "was recorded. Tell your Andon operators the error id."
        }
    if isinstance(result, FieldErrors):
        return {_block(level): reason for level, reason in result.errors.items()}
    return {}


def modal(shown: Analysis) -> dict[str, Any]:
    """The modal: the cause on top, then one optional field per level, labelled with its why."""
    answers = {answer.level: answer.text for answer in shown.answers}
    items = {item.level: item for item in shown.items}
    cause = said(clip(shown.cause, 1_000), shown.cause_by or Actor("andon", "andon", "andon"))
    intro = (
        f"*Stoppage #{shown.stoppage_id}* — {cause}\n"
        f"One proportional investment per level: severity *{shown.severity}*, "
        f"{shown.severity.budget}. A field left empty leaves its level as it is."
    )
    return {
        "type": "modal",
        "callback_id": CALLBACK,
        "private_metadata": str(shown.stoppage_id),
        "title": {"type": "plain_text", "text": f"Five whys #{shown.stoppage_id}"[:24]},
        "submit": {"type": "plain_text", "text": "Record"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(intro),
            *(
                _field(level, answers.get(level), items.get(level))
                for level in range(1, LEVELS + 1)
            ),
        ],
    }


def _field(level: int, answer: str | None, item: Item | None) -> dict[str, Any]:
    label = f"Level {level}: {answer}" if answer else f"Level {level}"
    if len(label) > _LABEL:
        label = label[: _LABEL - 1] + "…"
    hint = HINT
    if item is not None and item.status == ItemStatus.DONE:  # shown, not refilled: resubmit reopens
        hint = f"Done already: {item.text}. Whatever you write here replaces it."
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": FIELD,
        "placeholder": {
            "type": "plain_text",
            "text": "add a smoke test for sign-up @maria due fri #tests",  # never in the past
        },
    }
    if item is not None and item.status != ItemStatus.DONE:
        element["initial_value"] = _as_written(item)
    return {
        "type": "input",
        "block_id": _block(level),
        "optional": True,
        "label": {"type": "plain_text", "text": label},
        "hint": {"type": "plain_text", "text": hint},
        "element": element,
    }


def _as_written(item: Item) -> str:
    """An investment already made, written the way the form reads it back unchanged."""
    if item.status == ItemStatus.NONE:
        return f"none: {item.text}"
    parts = [item.text]
    if item.owner and item.owner[:1] in "UW" and item.owner[1:].isalnum():
        parts.append(f"<@{item.owner}|{item.owner_name or item.owner}>")
    elif item.owner_name or item.owner:
        parts.append(f"@{item.owner_name or item.owner}")
    if item.due:
        parts.append(f"due {item.due}")
    tag = _TAG.get(Category(item.category)) if item.category in set(Category) else None
    if tag:
        parts.append(f"#{tag}")
    return " ".join(parts)


def _names_a_row(value: str) -> bool:
    return value.isascii() and value.isdigit() and fits(int(value))


def _block(level: int) -> str:
    return f"level_{level}"
