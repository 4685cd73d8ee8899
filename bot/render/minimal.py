"""A message's minimal form: what the courier sends once when Slack refuses the full message.

One section of the message's text, clipped to what a section holds, and at most the one button
that matters (a page's *Acknowledge*). A renderer may give its own as ``fallback``; otherwise it
is made from ``text``, with no buttons.
"""

import re
from typing import Any

from bot.render.kit import Message, actions, message, section

SECTION_TEXT = 3000  # Slack's limit on a section's text
NOTHING_TO_SHOW = "(Andon had a message here that Slack would not show.)"
_OPEN_ENTITY = re.compile(r"&[#A-Za-z0-9]*$")


def clip(text: str, limit: int = SECTION_TEXT) -> str:
    """At most ``limit`` characters, ending in "…" when cut; never half an ``&amp;`` or half a
    ``<…>`` link or mention, which Slack would show as markup or refuse."""
    if len(text) <= limit:
        return text
    kept = text[: limit - 1]
    opened = kept.rfind("<")
    if opened > kept.rfind(">"):
        kept = kept[:opened]
    entity = _OPEN_ENTITY.search(kept)
    if entity is not None:
        kept = kept[: entity.start()]
    return kept.rstrip() + "…"


def minimal(text: str, *buttons: dict[str, Any]) -> Message:
    """The message's text in one section, with the buttons given (and no others)."""
    shown = clip(text.strip()) or NOTHING_TO_SHOW
    blocks = [section(shown)]
    if buttons:
        blocks.append(actions(*buttons))
    return message(shown, *blocks)


def minimal_form(payload: dict[str, Any]) -> Message:
    """The renderer's ``fallback`` when it made one, else the payload's text alone."""
    fallback = payload.get("fallback")
    if isinstance(fallback, dict) and fallback.get("text") and fallback.get("blocks"):
        return {"text": fallback["text"], "blocks": fallback["blocks"]}
    return minimal(str(payload.get("text") or ""))
