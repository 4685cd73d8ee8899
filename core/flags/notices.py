"""What flag commands announce; the fronts decide how it looks."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.actor import Actor
from core.notifier import Notice


@dataclass(frozen=True)
class FlagCreated(Notice):
    """A new flag, off everywhere."""

    key: str
    description: str
    by: Actor
    at: datetime


@dataclass(frozen=True)
class FlagMoved(Notice):
    """In the line channel: a flag's percentage changed in one environment."""

    key: str
    environment: str
    before: int
    after: int
    by: Actor
    at: datetime
    fix_reason: str | None = None


@dataclass(frozen=True)
class FlagFixShipping(Notice):
    """In the stoppage's thread: a flag goes on or up while the line is stopped, as the fix."""

    moved: FlagMoved


@dataclass(frozen=True)
class WatchShown:
    """A flag ramp under watch, as its one message shows it from start to end."""

    key: str
    environment: str
    before: int
    after: int
    by: Actor
    state: str  # core/flags/watch.py WatchState
    metrics: tuple[str, ...]
    watch_for: timedelta
    verdict: str | None = None  # how it ended, in a sentence, once it has
    fix: str | None = None  # asked as the fix while the line is stopped


@dataclass(frozen=True)
class FlagWatched(Notice):
    """In the line channel: a ramp under watch; the message is updated as the watch goes."""

    watch: WatchShown
