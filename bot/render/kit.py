"""Small Block Kit builders, so the message modules read like the messages they make."""

from datetime import datetime
from typing import Any

from core import words
from core.actor import Actor

Message = dict[str, Any]


def who(actor: Actor) -> str:
    """A Slack user is mentioned; anyone else (the CLI, the terminal) is named."""
    return f"<@{actor.id}>" if actor.is_slack_user else f"*{actor.name}*"


def when(moment: datetime) -> str:
    """Slack shows the reader's local time; the fallback (and the terminal) says UTC."""
    fallback = words.at(moment)
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(*texts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": t} for t in texts]}


def button(label: str, action_id: str, value: str = "", *, style: str | None = None) -> dict:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def actions(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(buttons)}


def message(text: str, *blocks: dict[str, Any]) -> Message:
    """``text`` is the notification and screen-reader fallback; blocks are what people see."""
    return {"text": text, "blocks": list(blocks)}


def plain(text: str) -> str:
    """A notification's text from a block's: no emoji codes, no mrkdwn marks, ``@here`` spelled."""
    kept = [word for word in text.split() if not (word.startswith(":") and word.endswith(":"))]
    spoken = " ".join(kept).replace("<!here>", "@here")
    return spoken.replace("*", "").replace("~", "").replace("`", "")
