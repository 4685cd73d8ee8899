"""Small Block Kit builders, so the message modules read like the messages they make.

Every builder keeps inside Slack's limits (Slack refuses the whole message otherwise, and a
refused page wakes nobody): text is clipped with "…" where it would overflow, lists say
"… and N more" and where to see the rest, and ``message`` gives each button its own action id.
"""

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from bot.render import mrkdwn
from core import words
from core.actor import Actor

Message = dict[str, Any]

# Slack's limits (https://api.slack.com/reference/block-kit/blocks and /block-elements)
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3_000
CONTEXT_TEXT = 2_000
CONTEXT_ELEMENTS = 10
HEADER_TEXT = 150
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2_000
NOTIFICATION = 3_000  # the top-level text: Slack allows 40,000; a notification needs far less
LINE = 400  # one line of a list: a long test name or cause must leave room for the others

# A cut must not split what Slack reads as one token: an entity, a <link|label>, a <!date…>.
_OPEN_TOKEN = re.compile(r"<[^>]*$|&[a-z#0-9]*$")


def clip(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, cut with "…" where a reader sees it was cut."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    cut = _OPEN_TOKEN.sub("", cut)
    return cut.rstrip() + "…"


def who(actor: Actor) -> str:
    """A Slack user is mentioned; anyone else (the CLI, the terminal) is named."""
    return mrkdwn.who(actor)


def when(moment: datetime) -> str:
    """Slack shows the reader's local time; the fallback (and the terminal) says UTC."""
    fallback = words.at(moment)
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_TEXT) or " "}}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, HEADER_TEXT)}}


def context(*texts: str) -> dict[str, Any]:
    shown = [t for t in texts if t][:CONTEXT_ELEMENTS] or [" "]
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(t, CONTEXT_TEXT)} for t in shown],
    }


def button(
    label: str,
    action_id: str,
    value: str = "",
    *,
    style: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(label, BUTTON_TEXT)},
        "action_id": action_id,
        "value": value[:BUTTON_VALUE],
    }
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def are_you_sure(title: str, text: str, *, yes: str) -> dict[str, Any]:
    """Slack's own confirmation dialog, for buttons that change production or restart the line."""
    return {
        "title": {"type": "plain_text", "text": clip(title, 100)},
        "text": {"type": "mrkdwn", "text": clip(text, 300)},
        "confirm": {"type": "plain_text", "text": clip(yes, 30)},
        "deny": {"type": "plain_text", "text": "Cancel"},
        "style": "danger",
    }


def actions(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(buttons[:ACTIONS_ELEMENTS])}


def listing(
    lines: Sequence[str],
    *,
    more: Callable[[int], str],
    head: str = "",
    limit: int = SECTION_TEXT,
    shown: int | None = None,
) -> str:
    """Lines under ``head`` as long as they fit one section; the rest is counted by ``more``,
    which says where to see them all."""
    out = [head] if head else []
    used = len(head)
    cap = len(lines) if shown is None else min(shown, len(lines))
    reserve = len(more(len(lines))) + 2
    for index, line in enumerate(lines[:cap]):
        line = clip(line, LINE)
        if used + len(line) + 1 + reserve > limit:
            cap = index
            break
        out.append(line)
        used += len(line) + 1
    if cap < len(lines):
        out.append(more(len(lines) - cap))
    return "\n".join(out)


def message(text: str, *blocks: dict[str, Any], limit: int = MESSAGE_BLOCKS) -> Message:
    """``text`` is the notification and screen-reader fallback; blocks are what people see."""
    shown = list(blocks)
    if len(shown) > limit:
        hidden = len(shown) - limit + 1
        shown = [*shown[: limit - 1], context(f"… and {hidden} more not shown here.")]
    return {"text": clip(text, NOTIFICATION) or " ", "blocks": _one_id_each(shown)}


def plain(text: str) -> str:
    """A notification's text from a block's: no emoji codes, no mrkdwn marks, ``@here`` spelled."""
    kept = [word for word in text.split() if not (word.startswith(":") and word.endswith(":"))]
    spoken = " ".join(kept).replace("<!here>", "@here")
    return spoken.replace("*", "").replace("~", "").replace("`", "")


def _one_id_each(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Slack refuses a message in which two buttons share an action id: the second of a family
    becomes ``family:1`` (listeners answer the whole family)."""
    seen: dict[str, int] = {}
    for block in blocks:
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for element in elements:
            action_id = element.get("action_id")
            if action_id is None:
                continue
            family = action_id.partition(":")[0]
            count = seen.get(family, 0)
            seen[family] = count + 1
            if count:
                element["action_id"] = f"{family}:{count}"
    return blocks
