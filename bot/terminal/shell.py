"""The shell: ``/line stop CI is red``, ``#12 <reply>`` in a thread, ``!press 12 line_start``."""

import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

from sqlmodel import col, select

from bot.andon import Andon
from bot.bus.events import ThreadPlace
from bot.intents.pressed import PRESSES, ActionId
from bot.intents.typed import Help, Intent, parse
from bot.outbox.message import MessageKind, MessageStatus
from bot.render.reply import reply
from bot.terminal import line_editing
from bot.terminal.chat import TerminalChat, people, transcript
from core.actor import Actor
from storage.ids import fits
from storage.tables import OutboxMessage

GREETING = "Andon shell — the terminal is the line channel. Try /line status, or help."


class Shell:
    def __init__(self, andon: Andon, chat: TerminalChat, actor: Actor) -> None:
        self._andon = andon
        self._chat = chat
        self._actor = actor
        self._last_answer: dict[str, Any] = {}

    def run(
        self,
        source: TextIO | None = None,
        *,
        on_quit: Callable[[], None] | None = None,
        greet: bool = True,
    ) -> None:
        """Read commands until someone types ``quit`` (or Ctrl-D at a terminal).

        Input that simply ends — ``andon serve`` started with no terminal attached — stops the
        reading, not the server: ``on_quit`` runs only when a person asked to quit.
        """
        source = source or sys.stdin
        interactive = source.isatty()
        read = line_editing.reader() if interactive and source is sys.stdin else source.readline
        if greet:
            self._chat.say(GREETING)
        while True:
            if interactive and read == source.readline:
                print("andon> ", end="", flush=True)
            text = read()
            asked = text.strip() in ("quit", "exit") or (not text and interactive)
            if asked or not text:
                break
            self.handle(text.strip())
        self._andon.courier.flush(timeout=5)
        if asked and on_quit:
            on_quit()

    def handle(self, text: str) -> None:
        if not text:
            return
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            self._execute(parse(command, rest, environments=self._andon.config.environments))
        elif text.startswith("!press"):
            self._press(text.split())
        elif text.startswith("#"):
            self._thread_reply(text)
        elif text in ("help", "?"):
            self._execute(Help())
        else:
            self._execute(Help(not_understood=text))

    def _execute(self, intent: Intent) -> None:
        answered = threading.Event()  # a deploy it starts waits: its news follows the answer
        try:
            result = self._andon.execute(intent, self._actor, answered=answered)
            self._andon.courier.flush(timeout=5)  # the channel speaks first, then the answer
            self._last_answer = reply(result)
            first, *rest = transcript(self._last_answer) or [""]
            self._chat.say(f"(only you) {first}", *(f"  {line}" for line in rest))
        finally:
            answered.set()

    def _press(self, words: list[str]) -> None:
        """``!press 12 line_start`` presses a button of message #12; ``!press line_start`` one of
        the last answer only you saw."""
        if len(words) == 3 and words[1].isdigit():
            number, action = int(words[1]), words[2]
            value = _value(self._blocks_of(number), action)
            where = f"Message #{number}"
        elif len(words) == 2:
            action = words[1]
            value = _value(self._last_answer.get("blocks", []), action)
            where = "The last answer"
        else:
            self._chat.say("(only you) Press a button with: !press <message number> <action>")
            return
        family = ActionId.of(action)
        if value is None or family not in PRESSES:
            self._chat.say(f"(only you) {where} has no button {action!r}.")
            return
        self._execute(PRESSES[family](value))

    def _blocks_of(self, number: int) -> list[dict[str, Any]]:
        """Message #12 as the terminal shows it now: its newest update shown, or itself."""
        if not fits(number):
            return []
        with self._andon.database.reading() as session:
            newest = session.exec(
                select(OutboxMessage)
                .where(
                    col(OutboxMessage.parent_id) == number,
                    col(OutboxMessage.kind) == MessageKind.UPDATE.value,
                    col(OutboxMessage.status) == MessageStatus.SENT.value,
                )
                .order_by(col(OutboxMessage.id).desc())
            ).first()
            message = newest or session.get(OutboxMessage, number)
            return list(message.payload.get("blocks", [])) if message else []

    def _thread_reply(self, text: str) -> None:
        number, _, said = text[1:].partition(" ")
        if not number.isdigit() or not said.strip():
            self._chat.say("(only you) Reply in a thread with: #<message number> <text>")
            return
        if not self._exists(int(number)):
            self._chat.say(f"(only you) There is no message #{number} to reply to.")
            return
        self._chat.say(f"  ↳ in thread #{number}, @{self._actor.name}: {people(said.strip())}")
        self._andon.hear(ThreadPlace(message_id=int(number)), self._actor, said.strip())
        self._andon.courier.flush(timeout=5)

    def _exists(self, number: int) -> bool:
        if not fits(number):
            return False
        with self._andon.database.reading() as session:
            return session.get(OutboxMessage, number) is not None


def _value(blocks: list[dict[str, Any]], action: str) -> str | None:
    for block in blocks:
        elements = block.get("elements", []) if block.get("type") == "actions" else []
        for element in [*elements, block.get("accessory") or {}]:
            if element.get("action_id") == action:
                return str(element.get("value", ""))
    return None
