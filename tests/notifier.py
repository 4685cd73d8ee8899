"""``core``'s Notifier port in memory: what core told people, in order, with the notices themselves.

A core rule is then tested in-process — no outbox, no courier, no Slack — and the test asserts what
people would be told (the notice), not how a front words it.
"""

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlmodel import Session

from bot.outbox.message import MessageKind
from core.notifier import MessageRef, Notice
from storage.tables import OutboxMessage

How = Literal["post", "reply", "dm", "update", "upload"]


@dataclass(frozen=True)
class Uploaded(Notice):
    """A file core shared (the digest's chart): its name, title and size."""

    filename: str
    title: str
    size: int


@dataclass(frozen=True)
class Told:
    """One thing core said: ``how``; ``to`` the thread of a reply, the message of an update or
    the person of a DM; and the notice. ``ref`` is the message it made (or updated)."""

    how: How
    notice: Notice
    ref: MessageRef
    to: MessageRef | str | None = None


class RecordingNotifier:
    """Records instead of sending. Bound to a transaction (``on(session)``) each message also
    gets a bare row, as the outbox's would: a stoppage keeps its announcement's and thread's ids,
    and the database holds it to them."""

    def __init__(self, *, session: Session | None = None, told: list[Told] | None = None) -> None:
        self.told: list[Told] = [] if told is None else told
        self._session = session
        self._ids = itertools.count(1)

    def on(self, session: Session) -> "RecordingNotifier":
        """The same record, for core to speak through inside ``session``."""
        return RecordingNotifier(session=session, told=self.told)

    # --- what core calls ----------------------------------------------------------------------

    def post(self, notice: Notice) -> MessageRef:
        return self._record("post", notice)

    def reply(self, thread: MessageRef, notice: Notice) -> MessageRef:
        return self._record("reply", notice, to=thread)

    def dm(self, user: str, notice: Notice) -> MessageRef:
        return self._record("dm", notice, to=user)

    def update(self, message: MessageRef, notice: Notice) -> None:
        self.told.append(Told("update", notice, message, to=message))

    def upload(
        self,
        *,
        filename: str,
        content: bytes,
        title: str,
        thread: MessageRef | None = None,
    ) -> MessageRef:
        return self._record("upload", Uploaded(filename, title, len(content)), to=thread)

    # --- what tests read ----------------------------------------------------------------------

    def notices(self, how: How, *, to: MessageRef | str | None = None) -> list[Notice]:
        """What was said ``how`` (to one thread, message or person if ``to``), in order."""
        return [t.notice for t in self.told if t.how == how and (to is None or t.to == to)]

    def forget(self) -> None:
        self.told.clear()

    def _record(
        self, how: How, notice: Notice, *, to: MessageRef | str | None = None
    ) -> MessageRef:
        ref = MessageRef(self._row(how) if self._session is not None else next(self._ids))
        self.told.append(Told(how, notice, ref, to))
        return ref

    def _row(self, how: How) -> int:
        assert self._session is not None
        now = datetime.now(UTC)  # never delivered: no courier reads these rows
        row = OutboxMessage(
            created_at=now,
            kind=MessageKind.FILE if how == "upload" else MessageKind(how),
            lane=f"recorded:{how}",
            target="",
            payload={},
            next_attempt_at=now,
        )
        self._session.add(row)
        self._session.flush()
        assert row.id is not None
        return row.id
