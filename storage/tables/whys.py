"""The five whys of a stoppage: its answers, the thread's replies, and the action items invested."""

from datetime import date, datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import moment


class Whys(SQLModel, table=True):
    """A stoppage's root cause analysis: which why is open, how severe, when it meets, when done.

    Reminders and nags are due work (``remind_at``, ``nag_at``) claimed by the tick.
    """

    stoppage_id: int = Field(primary_key=True, foreign_key="stoppage.id")
    severity: str = Field(default="minor", max_length=16)  # minor | major | critical
    severity_from: str = Field(default="default", max_length=32)  # default | alert | a person
    open_level: int = 1  # 1–5: that why is asked; 6: investments; 7: done
    scheduled_at: datetime | None = moment(nullable=True)
    scheduled_by: str | None = Field(default=None, max_length=255)
    remind_at: datetime | None = moment(nullable=True, index=True)
    nag_at: datetime | None = moment(nullable=True, index=True)
    done_at: datetime | None = moment(nullable=True)
    repeat_of: int | None = Field(default=None, foreign_key="stoppage.id")


class WhyAnswer(SQLModel, table=True):
    """Answer N of a five whys: who said it in the thread, in which message, when, and whether
    it was edited."""

    __tablename__ = "why_answer"
    __table_args__ = (UniqueConstraint("stoppage_id", "level", name="uq_why_answer"),)

    id: int | None = Field(default=None, primary_key=True)
    stoppage_id: int = Field(foreign_key="stoppage.id", index=True)
    level: int
    text: str = Field(sa_column=Column(Text, nullable=False))
    by: str = Field(max_length=255)
    by_name: str = Field(max_length=255)
    at: datetime = moment()
    edited_at: datetime | None = moment(nullable=True)
    # The thread message that gave it (Slack's ``ts``; none from the terminal): an edit of that
    # message in Slack finds its answer by it.
    message_ts: str | None = Field(default=None, max_length=64)


class ThreadReply(SQLModel, table=True):
    """A reply in a stoppage's thread that answered nothing (the team's chatter), kept so that
    pinning it with the thread's reaction can make it the open why's answer."""

    __tablename__ = "thread_reply"
    __table_args__ = (Index("ix_thread_reply_message", "stoppage_id", "message"),)

    id: int | None = Field(default=None, primary_key=True)
    stoppage_id: int = Field(foreign_key="stoppage.id")
    message: str = Field(max_length=64)  # the chat's id of the message (Slack's ts)
    by: str = Field(max_length=255)
    by_name: str = Field(max_length=255)
    text: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = moment()


class ActionItem(SQLModel, table=True):
    """The investment a five whys made at one level: an action with an owner and a due date,
    or a reasoned ``none``."""

    __tablename__ = "action_item"
    __table_args__ = (
        UniqueConstraint("stoppage_id", "level", name="uq_action_item"),
        Index("ix_action_item_owner_status", "owner", "status"),
        # the digest reads these alone: items created per week, and the overdue count (0037)
        Index("ix_action_item_created_at", "created_at", "status"),
        Index("ix_action_item_done_at", "done_at", "due", "created_at", "status"),
        Index("ix_action_item_due", "due", "id"),  # the first overdue items, in order
    )

    id: int | None = Field(default=None, primary_key=True)
    stoppage_id: int = Field(foreign_key="stoppage.id", index=True)
    level: int
    text: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="open", max_length=16)  # open | done | none
    owner: str | None = Field(default=None, max_length=64)
    owner_name: str | None = Field(default=None, max_length=255)
    due: date | None = None
    category: str | None = Field(default=None, max_length=32)
    created_by: str = Field(max_length=255)
    created_at: datetime = moment()
    done_at: datetime | None = moment(nullable=True)
    done_by: str | None = Field(default=None, max_length=255)
    reminded_on: date | None = None  # the last weekday morning its owner heard it is overdue
