"""The ``Notifier`` of every front: messages are rendered and queued in the caller's transaction.

A stoppage and its announcement commit together or not at all; the courier delivers them
afterwards, so the line never waits for the chat.
"""

import base64
from collections.abc import Callable
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from bot.outbox.message import MessageKind, MessageStatus, moving
from bot.render.kit import Message
from core.clock import Clock
from core.notifier import MessageRef, Notice
from storage.database import inserted, scrubbed
from storage.tables import OutboxMessage

DM_LANE = "dm:"  # one person's direct messages: the courier sends these first

MAX_FILE_BYTES = 1_000_000  # a file rides in its outbox row, base64'd: rows stay small
_SHOWN = (MessageStatus.PENDING.value, MessageStatus.SENT.value)  # an update shown, or to be


class Outbox:
    """Queues messages for one channel; replies, updates and files in a thread ride in their
    parent's lane, so they arrive after it."""

    def __init__(
        self,
        session: Session,
        *,
        channel: str,
        clock: Clock,
        render: Callable[[Notice], Message],
        heard: Callable[[str, Notice], object] | None = None,
    ) -> None:
        self._session = session
        self._channel = channel
        self._clock = clock
        self._render = render
        # hears each notice told and how (``post``, ``reply``, ``dm``, ``update``, ``upload``):
        # the event log (``bot.event_log``) reads it once the unit of work has committed
        self._heard = heard or (lambda how, notice: None)
        self.queued = 0
        # Rows of this unit of work's messages, held so the session (whose identity map lets go
        # of rows nobody holds) need not read a parent again for its next reply or update.
        self._rows: dict[int, OutboxMessage] = {}

    def post(self, notice: Notice) -> MessageRef:
        self._heard("post", notice)
        return self._queue(
            MessageKind.POST,
            lane=f"channel:{self._channel}",
            target=self._channel,
            payload=self._render(notice),
        )

    def reply(self, thread: MessageRef, notice: Notice) -> MessageRef:
        self._heard("reply", notice)
        root = self._root(thread)
        return self._queue(
            MessageKind.REPLY,
            lane=root.lane,
            target=root.target,
            payload=self._render(notice),
            parent=root,
        )

    def dm(self, user: str, notice: Notice) -> MessageRef:
        self._heard("dm", notice)
        lane = f"{DM_LANE}{user}"
        return self._queue(MessageKind.DM, lane=lane, target=user, payload=self._render(notice))

    def upload(
        self,
        *,
        filename: str,
        content: bytes,
        title: str,
        thread: MessageRef | None = None,
        message: Notice | None = None,
    ) -> MessageRef:
        """A file in the channel, or in a thread after its parent; it rides in the row itself,
        so it commits (or not) with the change it shows. With ``message`` the file is attached
        to that message: one post, the text and its picture together."""
        if not filename.strip() or not content:
            raise ValueError("a file needs a name and some content")
        if len(content) > MAX_FILE_BYTES:
            raise ValueError(
                f"{filename} is {len(content):,} bytes; the outbox carries files of at most "
                f"{MAX_FILE_BYTES:,} bytes"
            )
        if message is not None:
            self._heard("upload", message)
        payload = {
            "filename": filename,
            "title": title,
            "content": base64.b64encode(content).decode("ascii"),
            **(self._render(message) if message is not None else {}),
        }
        if thread is None:
            lane = f"channel:{self._channel}"
            return self._queue(MessageKind.FILE, lane=lane, target=self._channel, payload=payload)
        root = self._root(thread)
        return self._queue(
            MessageKind.FILE, lane=root.lane, target=root.target, payload=payload, parent=root
        )

    def update(self, message: MessageRef, notice: Notice) -> None:
        """Only the newest version matters: older updates not yet sent are superseded, and an
        update that changes nothing people see is not sent at all."""
        self._heard("update", notice)
        parent = self._parent(message)
        if parent.kind == MessageKind.FILE:
            raise ValueError(f"message #{parent.id} is a file: a file cannot be updated")
        payload = self._render(notice)
        if _shown(payload) == _shown(self._newest(parent)):
            return
        now = self._clock.now()
        self._session.execute(
            moving(
                MessageStatus.SUPERSEDED,
                col(OutboxMessage.parent_id) == parent.id,
                col(OutboxMessage.kind) == MessageKind.UPDATE.value,
                or_(
                    col(OutboxMessage.claimed_until).is_(None),
                    col(OutboxMessage.claimed_until) < now,
                ),
            )
        )
        self._queue(
            MessageKind.UPDATE,
            lane=parent.lane,
            target=parent.target,
            payload=payload,
            parent=parent,
        )

    def _newest(self, parent: OutboxMessage) -> dict[str, Any]:
        """What the message shows, or will once what is queued is sent: its newest version."""
        newest = self._session.exec(
            select(OutboxMessage.payload)
            .where(
                col(OutboxMessage.parent_id) == parent.id,
                col(OutboxMessage.kind) == MessageKind.UPDATE.value,
                col(OutboxMessage.status).in_(_SHOWN),
            )
            .order_by(col(OutboxMessage.id).desc())
            .limit(1)
        ).first()
        return newest if newest is not None else parent.payload

    def _root(self, thread: MessageRef) -> OutboxMessage:
        """Slack threads hang off their first message: a reply to a reply goes under the root."""
        parent = self._parent(thread)
        while parent.kind in (MessageKind.REPLY, MessageKind.FILE) and parent.parent_id is not None:
            parent = self._parent(MessageRef(parent.parent_id))
        if parent.kind == MessageKind.FILE:
            # Slack answers an upload with the file's id, not the ts of the message showing it
            raise ValueError(f"message #{parent.id} is a file shared in the channel: no thread")
        return parent

    def _parent(self, ref: MessageRef) -> OutboxMessage:
        parent = self._rows.get(ref.id) or self._session.get(OutboxMessage, ref.id)
        if parent is None:
            raise LookupError(f"no message #{ref.id} to reply to or update")
        self._rows[ref.id] = parent
        return parent

    def _queue(
        self,
        kind: MessageKind,
        *,
        lane: str,
        target: str,
        payload: dict[str, Any],
        parent: OutboxMessage | None = None,
    ) -> MessageRef:
        now = self._clock.now()
        values = {
            "created_at": now,
            "kind": kind.value,
            "lane": lane,
            "target": target,
            "parent_id": parent.id if parent else None,
            "payload": payload,
            "status": MessageStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
        }
        # At once, past the ORM's flush: a page's delivery queues four or five messages. The
        # row is kept as written (scrubbed), the parent of a reply or update that follows.
        clean = scrubbed(self._session, values)
        row_id = inserted(self._session, OutboxMessage, clean, clean=True)
        assert row_id is not None
        self.queued += 1
        self._rows[row_id] = OutboxMessage(id=row_id, **clean)
        return MessageRef(row_id)


def _shown(payload: dict[str, Any]) -> tuple[Any, Any]:
    """What a person sees of a message: its text and blocks."""
    return payload.get("text"), payload.get("blocks")
