"""Links to messages not sent yet: a renderer writes a marker naming the outbox message, and the
courier, sending the message that holds it, swaps in that message's permalink — known by then,
since the linked message was queued first in the same lane — or just the label when the chat
gave none (the terminal, a failed permalink look-up)."""

import json
import re
from typing import Any

from sqlmodel import Session

from bot.render.mrkdwn import link
from storage.tables import OutboxMessage

_MARKER = re.compile(r"<andon-message:(\d+)\|([^<>|]*)>")


def marker(message_id: int, label: str) -> str:
    """A link to outbox message ``message_id``, labelled with Andon's own words (plain text)."""
    return f"<andon-message:{message_id}|{label}>"


def resolved(session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with each marker made a link to its message, or its bare label."""
    if "<andon-message:" not in json.dumps(payload):
        return payload

    def link_to(found: re.Match[str]) -> str:
        linked = session.get(OutboxMessage, int(found.group(1)))
        label = found.group(2)
        if linked is None or not linked.permalink:
            return label
        return link(linked.permalink, label)

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return _MARKER.sub(link_to, value)
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        return value

    return walk(payload)
