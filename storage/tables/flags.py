"""Feature flags: a key, a rollout percentage per environment, every change to it, and the
ramps watched."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import moment


class Flag(SQLModel, table=True):
    """A feature flag: a key applications ask about, and what it is for."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = moment()
    created_by: str = Field(max_length=255)
    created_by_name: str = Field(max_length=255)
    created_via: str = Field(max_length=32)


class FlagVersion(SQLModel, table=True):
    """One row whose ``n`` moves in the transaction of every flag created or moved: a bulk
    evaluation's ETag. The newest ids would not do on PostgreSQL, where a sequence hands out
    ids in one order and transactions commit in another."""

    __tablename__ = "flag_version"

    id: int = Field(default=1, primary_key=True)
    n: int = Field(default=0)


class FlagRollout(SQLModel, table=True):
    """A flag's percentage in one environment; no row means 0 (off)."""

    __tablename__ = "flag_rollout"
    __table_args__ = (UniqueConstraint("flag_id", "environment", name="uq_flag_rollout_env"),)

    id: int | None = Field(default=None, primary_key=True)
    flag_id: int = Field(foreign_key="flag.id", index=True)
    environment: str = Field(max_length=64)
    percentage: int = Field(default=0)
    changed_at: datetime = moment()
    changed_by: str = Field(max_length=255)
    changed_by_name: str = Field(max_length=255)
    changed_via: str = Field(max_length=32)


class FlagChange(SQLModel, table=True):
    """Append-only: who moved which flag from what to what, where, when — and the fix it was."""

    __tablename__ = "flag_change"

    id: int | None = Field(default=None, primary_key=True)
    flag_id: int = Field(foreign_key="flag.id", index=True)
    environment: str = Field(max_length=64)
    from_percentage: int
    to_percentage: int
    at: datetime = moment(index=True)
    actor: str = Field(max_length=255)
    actor_name: str = Field(max_length=255)
    via: str = Field(max_length=32)
    fix_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class FlagWatch(SQLModel, table=True):
    """A flag turned on or ramped up where its environment watches metrics: the change it asks
    for, the baseline read before it, until when it is watched, who watches, how it ended."""

    __tablename__ = "flag_watch"
    __table_args__ = (Index("ix_flag_watch_state", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    flag_id: int = Field(foreign_key="flag.id", index=True)
    key: str = Field(max_length=64)
    environment: str = Field(max_length=64)
    from_percentage: int
    to_percentage: int
    actor: str = Field(max_length=255)
    actor_name: str = Field(max_length=255)
    via: str = Field(max_length=32)
    fix_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    state: str = Field(default="pending", max_length=16)  # core/flags/watch.py WatchState
    baseline: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = moment()
    until: datetime | None = moment(nullable=True)  # the end of the watch, once the ramp is live
    holder: str | None = Field(default=None, max_length=255)  # the process watching it
    message_id: int | None = Field(default=None, foreign_key="outbox_message.id")
    verdict: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    ended_at: datetime | None = moment(nullable=True)
