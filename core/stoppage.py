"""A stoppage: one halt of the line, its causes, and the thread where its five whys happens."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, col, select

from core.actor import Actor
from core.lifecycle import Lifecycle
from storage.tables import OutboxMessage, Stoppage, StoppageCause


class StoppageState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


LIFECYCLE = Lifecycle({StoppageState.OPEN: {StoppageState.CLOSED}, StoppageState.CLOSED: ()})


def move(stoppage: Stoppage, to: StoppageState) -> None:
    """Change state through the table of allowed transitions."""
    current = StoppageState(stoppage.state)
    stoppage.state = LIFECYCLE.check(current, to, what=f"stoppage #{stoppage.id}").value


@dataclass(frozen=True)
class Cause:
    text: str
    by: Actor
    at: datetime


@dataclass(frozen=True)
class StoppageView:
    """What people and the API see of a stoppage."""

    id: int
    state: StoppageState
    opened_at: datetime
    opened_by: Actor
    causes: tuple[Cause, ...]
    closed_at: datetime | None
    closed_by: Actor | None
    thread_ts: str | None
    thread_channel: str | None
    thread_link: str | None

    @property
    def reason(self) -> str:
        """The first cause: the one that pulled the cord."""
        return self.causes[0].text if self.causes else ""


def view(session: Session, stoppage_id: int) -> StoppageView | None:
    """Load a stoppage with its causes and where its thread lives in the chat."""
    stoppage = session.get(Stoppage, stoppage_id)
    if stoppage is None or stoppage.id is None:
        return None
    causes = session.exec(
        select(StoppageCause)
        .where(StoppageCause.stoppage_id == stoppage.id)
        .order_by(col(StoppageCause.id))
    )
    announcement = (
        session.get(OutboxMessage, stoppage.announcement_id) if stoppage.announcement_id else None
    )
    closed_by = None
    if stoppage.closed_by is not None:
        closed_by = Actor(
            stoppage.closed_by, stoppage.closed_by_name or "", stoppage.closed_via or ""
        )
    return StoppageView(
        id=stoppage.id,
        state=StoppageState(stoppage.state),
        opened_at=stoppage.opened_at,
        opened_by=Actor(stoppage.opened_by, stoppage.opened_by_name, stoppage.opened_via),
        causes=tuple(Cause(c.text, Actor(c.actor, c.actor_name, c.via), c.at) for c in causes),
        closed_at=stoppage.closed_at,
        closed_by=closed_by,
        thread_ts=announcement.ts if announcement else None,
        thread_channel=announcement.channel if announcement else None,
        thread_link=announcement.permalink if announcement else None,
    )
