"""What the line says in the channel and in a stoppage's thread: the stop announcement, the
thread's first message, causes joining, and the restart."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.actor import Actor
from core.notifier import MessageRef, Notice
from core.stoppage import Cause, StoppageView
from core.whys.analysis import Analysis


@dataclass(frozen=True)
class LineStopped(Notice):
    """The announcement in the channel; re-rendered as causes join (``others``) and with
    ``restarted_*`` once the line runs."""

    stoppage_id: int
    by: Actor
    reason: str
    at: datetime
    restarted_by: Actor | None = None
    restarted_at: datetime | None = None
    # The five whys' rule would let the line start now (done, or a meeting booked): only then
    # does the notice offer *Start the line* — never a button that can only be refused.
    may_start: bool = False
    others: tuple[Cause, ...] = ()  # the causes that joined after the first, oldest first


@dataclass(frozen=True)
class ThreadOpened(Notice):
    """The first message of the stoppage's thread, where its five whys happens."""

    stoppage_id: int
    reason: str
    by: Actor


@dataclass(frozen=True)
class CauseAdded(Notice):
    """Another cause, said in the stoppage's thread; ``post`` is the cause's own message in the
    channel (a page's), which the reply links to."""

    stoppage_id: int
    by: Actor
    reason: str
    at: datetime
    post: MessageRef | None = None
    asks: Analysis | None = None  # why 1, asked again about every cause, while it is open


@dataclass(frozen=True)
class CausesAdded(Notice):
    """Several causes added at once (the pages of one alert delivery): one reply, not one each."""

    stoppage_id: int
    causes: tuple[tuple[Actor, str], ...]  # who, and why
    at: datetime
    post: MessageRef | None = None
    asks: Analysis | None = None  # why 1, asked again about every cause, while it is open


@dataclass(frozen=True)
class LineStarted(Notice):
    """The line runs again; the post says what the five whys still owes, and when it meets, or
    that an admin forced the start and why — one post either way."""

    stoppage_id: int
    by: Actor
    at: datetime
    stopped_for: timedelta
    owed: str | None = None  # what the stoppage's five whys still lacks
    meeting: datetime | None = None
    forced: str | None = None  # an admin's reason for starting before the five whys is done


def announcement(stoppage: StoppageView, started: LineStarted | None = None) -> LineStopped:
    """The stop announcement as it reads now: every cause, and who restarted the line."""
    return LineStopped(
        stoppage.id,
        stoppage.opened_by,
        stoppage.reason,
        stoppage.opened_at,
        restarted_by=started.by if started else None,
        restarted_at=started.at if started else None,
        others=stoppage.causes[1:],
    )
