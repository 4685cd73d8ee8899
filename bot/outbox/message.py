"""An outbox message: what it is, and where it stands — pending until the chat answers, then
sent; failed once given up; superseded when a newer update of its message came before it went.
The values are what ``outbox_message.kind`` and ``.status`` store."""

from enum import StrEnum

from sqlalchemy import ColumnElement, Update, update
from sqlmodel import col

from core.lifecycle import Lifecycle
from storage.tables import OutboxMessage


class MessageKind(StrEnum):
    POST = "post"  # in the channel
    REPLY = "reply"  # in the thread of a post
    DM = "dm"  # to one person
    UPDATE = "update"  # a new version of a post, reply or DM
    FILE = "file"  # payload: filename, title, base64 content


class MessageStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SUPERSEDED = "superseded"


LIFECYCLE = Lifecycle(
    {
        MessageStatus.PENDING: {
            MessageStatus.SENT,
            MessageStatus.FAILED,
            MessageStatus.SUPERSEDED,
        },
        MessageStatus.SENT: (),
        MessageStatus.FAILED: (),
        MessageStatus.SUPERSEDED: (),
    }
)


def move(row: OutboxMessage, to: MessageStatus) -> None:
    """The one way a message's status changes: through the table."""
    row.status = LIFECYCLE.check(MessageStatus(row.status), to, what=f"message #{row.id}").value


def moving(to: MessageStatus, *where: ColumnElement[bool]) -> Update:
    """The conditional update that moves the messages ``where`` names to ``to``, only those
    whose status the table lets become ``to``."""
    sources = [status.value for status in LIFECYCLE.sources(to)]
    allowed = col(OutboxMessage.status).in_(sources)
    return update(OutboxMessage).where(*where, allowed).values(status=to.value)
