"""The ``Notifier`` of every front: messages are rendered and queued in the caller's transaction.

A stoppage and its announcement commit together or not at all; the courier delivers them
afterwards, so the line never waits for the chat.
"""

from collections.abc import Callable

from sqlalchemy import or_, update
from sqlmodel import Session, col

from bot.render.kit import Message
from core.clock import Clock
from core.notifier import MessageRef, Notice
from storage.tables import OutboxMessage


class Outbox:
    """Queues messages for one channel; replies and updates ride in their parent's lane."""

    def __init__(
        self,
        session: Session,
        *,
        channel: str,
        clock: Clock,
        render: Callable[[Notice], Message],
    ) -> None:
        self._session = session
        self._channel = channel
        self._clock = clock
        self._render = render
        self.queued = 0

    def post(self, notice: Notice) -> MessageRef:
        return self._queue(
            "post", lane=f"channel:{self._channel}", target=self._channel, notice=notice
        )

    def reply(self, thread: MessageRef, notice: Notice) -> MessageRef:
        parent = self._parent(thread)
        while parent.kind == "reply" and parent.parent_id is not None:
            parent = self._parent(MessageRef(parent.parent_id))  # Slack threads hang off the root
        return self._queue(
            "reply", lane=parent.lane, target=parent.target, notice=notice, parent=parent
        )

    def dm(self, user: str, notice: Notice) -> MessageRef:
        return self._queue("dm", lane=f"dm:{user}", target=user, notice=notice)

    def update(self, message: MessageRef, notice: Notice) -> None:
        """Only the newest version matters: older updates not yet sent are superseded."""
        parent = self._parent(message)
        now = self._clock.now()
        self._session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.parent_id) == parent.id,
                col(OutboxMessage.kind) == "update",
                col(OutboxMessage.status) == "pending",
                or_(
                    col(OutboxMessage.claimed_until).is_(None),
                    col(OutboxMessage.claimed_until) < now,
                ),
            )
            .values(status="superseded")
        )
        self._queue("update", lane=parent.lane, target=parent.target, notice=notice, parent=parent)

    def _parent(self, ref: MessageRef) -> OutboxMessage:
        parent = self._session.get(OutboxMessage, ref.id)
        if parent is None:
            raise LookupError(f"no message #{ref.id} to reply to or update")
        return parent

    def _queue(
        self,
        kind: str,
        *,
        lane: str,
        target: str,
        notice: Notice,
        parent: OutboxMessage | None = None,
    ) -> MessageRef:
        now = self._clock.now()
        row = OutboxMessage(
            created_at=now,
            kind=kind,
            lane=lane,
            target=target,
            parent_id=parent.id if parent else None,
            payload=self._render(notice),
            next_attempt_at=now,
        )
        self._session.add(row)
        self._session.flush()
        self.queued += 1
        assert row.id is not None
        return MessageRef(row.id)
