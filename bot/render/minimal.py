"""A message's minimal form: what the courier sends once when Slack refuses the full message.

One section of the message's text, clipped to what a section holds, and at most the one button
that matters (a page's *Acknowledge*). A renderer may give its own as ``fallback``; otherwise it
is made from ``text``, with no buttons.
"""

from typing import Any

from bot.render.kit import SECTION_TEXT, Message, actions, clip, message, section

NOTHING_TO_SHOW = "(Andon had a message here that Slack would not show.)"


def minimal(text: str, *buttons: dict[str, Any]) -> Message:
    """The message's text in one section, with the buttons given (and no others)."""
    shown = clip(text.strip(), SECTION_TEXT) or NOTHING_TO_SHOW
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
