"""What Andon keeps of its own doing: the audit log, the outbox, deliveries already handled,
digests posted, Home tabs to refresh."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import moment


class AuditEntry(SQLModel, table=True):
    """Append-only: every command and webhook — who, what, when, from where, how it ended."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = moment(index=True)
    actor: str = Field(max_length=255)
    actor_name: str = Field(max_length=255)
    via: str = Field(max_length=32)
    action: str = Field(max_length=64)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    outcome: str = Field(max_length=16)
    message: str = Field(default="", sa_column=Column(Text, nullable=False))


class OutboxMessage(SQLModel, table=True):
    """A chat message on its way out; sent in order per lane, retried until the chat answers."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_pending_lane", "status", "lane", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = moment()
    kind: str = Field(max_length=16)
    lane: str = Field(max_length=255)
    target: str = Field(max_length=255)
    parent_id: int | None = Field(default=None, foreign_key="outbox_message.id")
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = moment()
    claimed_until: datetime | None = moment(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=255)  # the courier's process
    sent_at: datetime | None = moment(nullable=True)
    channel: str | None = Field(default=None, max_length=255)
    ts: str | None = Field(default=None, max_length=64)
    permalink: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class InboundDelivery(SQLModel, table=True):
    """Deliveries already handled (Slack event ids, webhook delivery ids): a retry acts once."""

    __tablename__ = "inbound_delivery"
    __table_args__ = (UniqueConstraint("source", "key", name="uq_inbound_delivery"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    key: str = Field(max_length=255)
    at: datetime = moment()


class DigestPost(SQLModel, table=True):
    """A week whose digest went to the channel: the row is the claim, so it is posted once."""

    __tablename__ = "digest_post"

    week: str = Field(primary_key=True, max_length=16)  # ISO week, "2026-W47"
    posted_at: datetime = moment()
    message_id: int | None = Field(default=None, foreign_key="outbox_message.id")


class HomeViewer(SQLModel, table=True):
    """Someone who opened Andon's Home tab, and whether theirs shows the latest.

    ``stale`` counts changes not yet shown. A publisher claims the row with a short lease (like
    an outbox row) and subtracts what it showed, so a change made while it publishes is shown by
    the next publish; a failed publish waits until ``next_attempt_at`` and is tried again.
    """

    __tablename__ = "home_viewer"
    __table_args__ = (Index("ix_home_viewer_stale", "stale", "next_attempt_at"),)

    user_id: str = Field(primary_key=True, max_length=64)
    opened_at: datetime = moment(index=True)  # the last time they opened it
    stale: int = 0
    next_attempt_at: datetime | None = moment(nullable=True)
    attempts: int = 0
    claimed_until: datetime | None = moment(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=255)
    published_at: datetime | None = moment(nullable=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
