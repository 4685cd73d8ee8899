"""The line, its stoppages and their causes."""

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from storage.types import moment


class Line(SQLModel, table=True):
    """The production line: one row. Its lock serialises every stop and start."""

    id: int = Field(default=1, primary_key=True)
    state: str = Field(default="running", max_length=16)
    since: datetime = moment()
    stoppage_id: int | None = Field(default=None, foreign_key="stoppage.id")


class Stoppage(SQLModel, table=True):
    """One halt of the line, from the first pull of the cord to the restart."""

    id: int | None = Field(default=None, primary_key=True)
    state: str = Field(default="open", max_length=16)
    opened_at: datetime = moment(index=True)
    opened_by: str = Field(max_length=255)
    opened_by_name: str = Field(max_length=255)
    opened_via: str = Field(max_length=32)
    closed_at: datetime | None = moment(nullable=True, index=True)  # stoppages overlapping a week
    closed_by: str | None = Field(default=None, max_length=255)
    closed_by_name: str | None = Field(default=None, max_length=255)
    closed_via: str | None = Field(default=None, max_length=32)
    announcement_id: int | None = Field(default=None, foreign_key="outbox_message.id")
    thread_id: int | None = Field(default=None, foreign_key="outbox_message.id")


class StoppageCause(SQLModel, table=True):
    """Why the line was stopped; a stopped line pulled again gains a cause, not a stoppage."""

    __tablename__ = "stoppage_cause"

    id: int | None = Field(default=None, primary_key=True)
    stoppage_id: int = Field(foreign_key="stoppage.id", index=True)
    at: datetime = moment()
    actor: str = Field(max_length=255)
    actor_name: str = Field(max_length=255)
    via: str = Field(max_length=32)
    text: str = Field(sa_column=Column(Text, nullable=False))
