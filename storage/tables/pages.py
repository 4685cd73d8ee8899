"""Pages, the alerts and storms behind them, their history, the on-call rotation's changes and
the built-in checks' state."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import moment


class Page(SQLModel, table=True):
    """One group of alerts paging a person, from its first firing to its last resolution.

    Repeats and escalations are due work: ``due_at`` says when the tick acts next, and the tick
    claims it by moving ``due_at`` in one conditional update, so it runs once across replicas.
    """

    __table_args__ = (
        Index("ix_page_identity_status", "identity", "status"),
        Index("ix_page_status_due", "status", "due_at"),
        Index("ix_page_opened_at", "opened_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    identity: str = Field(max_length=300)  # the group: source:group:<key> or source:name:<name>
    source: str = Field(max_length=32)
    sender: str | None = Field(default=None, max_length=100)  # a generic payload's ``source``
    name: str = Field(max_length=255)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    severity: str | None = Field(default=None, max_length=32)
    value: str | None = Field(default=None, max_length=255)
    url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    labels: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="open", max_length=16)  # open | acknowledged | resolved | held
    held_for: str | None = Field(default=None, max_length=16)  # flapping | storm, when held
    stops_line: bool = True
    opened_at: datetime = moment()
    last_fired_at: datetime = moment()
    fired: int = 1
    oncall: str | None = Field(default=None, max_length=64)  # who is paged now
    level: int = 0  # 0 the on-call person, 1 the next in the rotation, 2 the channel
    due_at: datetime | None = moment(nullable=True)
    acked_at: datetime | None = moment(nullable=True)
    acked_by: str | None = Field(default=None, max_length=255)
    acked_by_name: str | None = Field(default=None, max_length=255)
    resolved_at: datetime | None = moment(nullable=True)
    resolved_by: str | None = Field(default=None, max_length=255)
    resolved_by_name: str | None = Field(default=None, max_length=255)
    dm_id: int | None = Field(default=None, foreign_key="outbox_message.id")
    channel_id: int | None = Field(default=None, foreign_key="outbox_message.id")
    stoppage_id: int | None = Field(default=None, foreign_key="stoppage.id")
    suspects: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    flag_suspects: list[int] = Field(  # flag changes that turned a flag on or up shortly before
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    fired_at: datetime | None = moment(nullable=True)  # when it fired, as the sender says
    facts: dict[str, Any] = Field(  # origin, description, links, details: core/alerts/event.py
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )


class PageAlert(SQLModel, table=True):
    """One alert of a page: a page is one group of alerts (the sender's group, or one name), and
    each alert keeps its own identity, so a re-sent alert is known and its resolution found."""

    __tablename__ = "page_alert"
    __table_args__ = (
        UniqueConstraint("page_id", "identity", name="uq_page_alert_page_identity"),
        Index("ix_page_alert_identity_status", "identity", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    page_id: int = Field(foreign_key="page.id", index=True)
    identity: str = Field(max_length=300)  # source:key
    name: str = Field(max_length=255)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    value: str | None = Field(default=None, max_length=255)
    status: str = Field(default="firing", max_length=16)  # firing | resolved
    fired_at: datetime = moment()
    resolved_at: datetime | None = moment(nullable=True)
    severity: str | None = Field(default=None, max_length=32)  # as last sent: a change is told


class AlertStorm(SQLModel, table=True):
    """New pages held over the caps while a storm lasts, and the one channel message that says
    how many (updated in place as more are held)."""

    __tablename__ = "alert_storm"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = moment()
    last_held_at: datetime = moment(index=True)
    pages: int = 0  # new pages held
    alerts: int = 0  # their alerts
    told_pages: int = 0  # what the message says now
    told_alerts: int = 0
    told_at: datetime = moment()
    message_id: int | None = Field(default=None, foreign_key="outbox_message.id")


class PageEvent(SQLModel, table=True):
    """Everything that happened to a page — paged, repeated, escalated, acknowledged — and who."""

    __tablename__ = "page_event"
    __table_args__ = (Index("ix_page_event_kind_at", "kind", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    page_id: int = Field(foreign_key="page.id", index=True)
    at: datetime = moment()
    kind: str = Field(max_length=32)
    actor: str = Field(max_length=255)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))


class OncallOverride(SQLModel, table=True):
    """``/oncall override @user until <when>``: someone covers the rotation for a while."""

    __tablename__ = "oncall_override"

    id: int | None = Field(default=None, primary_key=True)
    user: str = Field(max_length=64)
    starts_at: datetime = moment()
    until: datetime = moment(index=True)
    by: str = Field(max_length=255)
    by_name: str = Field(max_length=255)


class OncallHandoff(SQLModel, table=True):
    """Who was last told they are on call: a change is a handoff, and the new person hears it.
    Each handoff names the one it follows, once: of replicas that see the same change at the same
    tick, one records it and only that one sends the DM."""

    __tablename__ = "oncall_handoff"

    id: int | None = Field(default=None, primary_key=True)
    user: str = Field(max_length=64)
    at: datetime = moment()
    follows: int = Field(default=0, unique=True, index=True)


class CheckState(SQLModel, table=True):
    """A built-in check's last reading, and since when it has been out of bounds."""

    __tablename__ = "check_state"

    name: str = Field(primary_key=True, max_length=64)
    value: float | None = None
    checked_at: datetime | None = moment(nullable=True)
    due_at: datetime | None = moment(nullable=True)
    out_since: datetime | None = moment(nullable=True)  # None while within bounds
    firing: bool = False
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
