"""The terminal as the line channel: each message gets a number, threads and buttons included."""

import base64
import re
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from bot.intents.pressed import TYPED, ActionId
from bot.outbox.chat import Outgoing, Sent
from bot.outbox.message import MessageKind

_EMOJI = {  # every shortcode the messages use: the terminal shows the picture, not the code
    "alarm_clock": "⏰",
    "arrow_up": "⬆️",
    "arrows_counterclockwise": "🔄",
    "bell": "🔔",
    "black_square_for_stop": "⏹️",
    "calendar": "📅",
    "construction": "🚧",
    "eyes": "👀",
    "grey_question": "❔",
    "heavy_multiplication_x": "✖️",
    "heavy_plus_sign": "➕",
    "hourglass": "⏳",
    "hourglass_flowing_sand": "⏳",
    "information_source": "ℹ️",
    "large_green_circle": "🟢",
    "large_yellow_circle": "🟡",
    "leftwards_arrow_with_hook": "↩️",
    "mag": "🔍",
    "memo": "📝",
    "no_entry": "⛔",
    "octagonal_sign": "🛑",
    "package": "📦",
    "pager": "📟",
    "pushpin": "📌",
    "pencil2": "✏️",
    "raised_hand": "✋",
    "red_circle": "🔴",
    "repeat": "🔁",
    "rewind": "⏪",
    "link": "🔗",
    "rocket": "🚀",
    "rotating_light": "🚨",
    "thinking_face": "🤔",
    "triangular_flag_on_post": "🚩",
    "warning": "⚠️",
    "white_check_mark": "✅",
    "white_circle": "⚪",
    "wrench": "🔧",
    "x": "❌",
}
_DATE = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
# A person as Slack encodes them (``<@U0LEE>``, ``<@U0LEE|lee>``), or typed that way (``<@lee>``).
_MENTION = re.compile(r"<@([\w.-]+)(?:\|@?([^<>|]+))?>")
_CHANNEL = re.compile(r"<#([A-Z0-9]+)(?:\|([^>]*))?>")
_SHORTCODE = re.compile(r":([a-z0-9_+-]+):")


def plain(mrkdwn: str) -> str:
    """Slack's mrkdwn as a terminal shows it: dates, links and mentions spelled out."""
    text = _DATE.sub(r"\1", mrkdwn)
    text = _LINK.sub(r"\2 (\1)", text)
    text = _MENTION.sub(_person, text)
    text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    text = _SHORTCODE.sub(lambda m: _EMOJI.get(m.group(1), m.group(0)), text)
    text = text.replace("*", "").replace("`", "")
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return people(text)  # a quoted ``<@lee>`` reads as the person it names


def people(text: str) -> str:
    """``<@U0LEE|lee>`` and ``<@lee>`` as a terminal shows them: ``@lee``."""
    return _MENTION.sub(_person, text)


def _person(found: re.Match[str]) -> str:
    return f"@{found[2] or found[1]}"


def transcript(payload: dict[str, Any], number: int | None = None) -> list[str]:
    """The lines a message shows; a button names the command that presses it.

    A message without a number (an answer only you see) has buttons pressed by action alone.
    """
    blocks = payload.get("blocks") or []
    if not blocks:
        return plain(payload.get("text", "")).splitlines()
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind in ("section", "header"):
            lines.extend(plain(block["text"]["text"]).splitlines())
            accessory = block.get("accessory") or {}
            if accessory.get("type") == "button":
                lines.append("  " + _button(accessory, number))
        elif kind == "context":
            lines.append("  " + " · ".join(plain(e.get("text", "")) for e in block["elements"]))
        elif kind == "actions":
            lines.append("  " + " ".join(_button(e, number) for e in block["elements"]))
        elif kind == "divider":
            lines.append("  ——")
    return lines


def _button(element: dict[str, Any], number: int | None) -> str:
    family = ActionId.of(str(element.get("action_id", "")))
    typed = TYPED.get(family) if family is not None else None
    if typed is not None:  # a Slack modal: the terminal says what to type instead
        return f"[{element['text']['text']}: {typed}]"
    where = f"{number} " if number is not None else ""
    return f"[{element['text']['text']}: !press {where}{element['action_id']}]"


class TerminalChat:
    """Prints what the channel would show; a message's number is its ``ts``.

    A shared file is written into ``files`` (relative paths start from the working directory
    at the moment it is written), and the channel shows where it went.
    """

    def __init__(
        self,
        out: TextIO | None = None,
        *,
        channel: str = "line",
        files: Path = Path("andon-files"),
    ) -> None:
        self._out = out or sys.stdout
        self._channel = channel
        self._files = files
        self._lock = threading.Lock()

    def send(self, message: Outgoing) -> Sent:
        number = message.id
        if message.kind == MessageKind.UPDATE:
            # An update is the message the person already sees: its buttons keep that number.
            number = int(message.parent_ts or number)
        if message.kind == MessageKind.FILE:  # with the message it is attached to, if any
            shown = transcript(message.payload, number) if _says(message.payload) else []
            lines = [*shown, self._save(message.payload)]
        else:
            lines = transcript(message.payload, number)
        if message.kind == MessageKind.REPLY or (
            message.kind == MessageKind.FILE and message.parent_ts
        ):
            also = " (also sent to the channel)" if message.payload.get("reply_broadcast") else ""
            head = f"  ↳ #{number} in thread #{message.parent_ts}{also}: "
            indent = "    "
        elif message.kind == MessageKind.UPDATE:
            head, indent = f"#{number} (updated) ", "  "
        elif message.kind == MessageKind.DM:
            head, indent = f"#{number} (DM to @{message.target}) ", "  "
        else:
            head, indent = f"#{number} ", "  "
        self.say(head + (lines[0] if lines else ""), *(indent + line for line in lines[1:]))
        return Sent(self._channel, str(number))

    def _save(self, payload: dict[str, Any]) -> str:
        """The file lands where a person can open it; the line says where."""
        self._files.mkdir(parents=True, exist_ok=True)
        name = Path(payload["filename"]).name  # never outside the folder
        path = self._files / (name if name not in ("", "..") else "file")
        path.write_bytes(base64.b64decode(payload["content"]))
        return f"📎 {payload['title']}: {path}"

    def say(self, *lines: str) -> None:
        with self._lock:
            for line in lines:
                print(line, file=self._out)
            self._out.flush()


def _says(payload: dict[str, Any]) -> bool:
    return bool(payload.get("text") or payload.get("blocks"))
