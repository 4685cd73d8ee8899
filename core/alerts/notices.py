"""What paging announces; the fronts decide how it looks."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.alerts.pages import PageView
from core.notifier import Notice


@dataclass(frozen=True)
class Paged(Notice):
    """The DM to the person on call (updated in place as alerts join and leave the page, and as
    it is acknowledged or resolved)."""

    page: PageView
    reminder: bool = False


@dataclass(frozen=True)
class Change:
    """What a firing alert says now that it did not say before."""

    name: str
    severity_was: str | None
    severity: str | None
    summary_was: str
    summary: str

    @property
    def severity_changed(self) -> bool:
        return self.severity != self.severity_was


@dataclass(frozen=True)
class PageChanged(Notice):
    """A firing alert of the page says something new — a worse severity, new output: told to
    the person paged (the page's DM is updated in place as well)."""

    page: PageView
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class SenderTested(Notice):
    """A sender's test notification (Grafana's *Test* button) reached Andon: said in the
    channel, paging nobody, stopping nothing."""

    sender: str


@dataclass(frozen=True)
class Escalated(Notice):
    """The page reached the next person, or the channel (``@here``), unacknowledged."""

    page: PageView
    to_channel: bool


@dataclass(frozen=True)
class PageWithoutStop(Notice):
    """A routed alert that pages but leaves the line running: the channel still hears it."""

    page: PageView


@dataclass(frozen=True)
class PagedWhileStopped(Notice):
    """New pages that joined a stoppage already open: their own post in the channel (one for
    a delivery's pages), which the stoppage's thread links to as another cause."""

    pages: tuple[PageView, ...]
    stoppage_id: int


@dataclass(frozen=True)
class Held(Notice):
    """A flapping alert is held: recorded, said once, not paged each time."""

    name: str
    times: int
    window_minutes: int


@dataclass(frozen=True)
class NotReached(Notice):
    """Slack would not deliver a page's DM to ``user``: the channel hears it, and who has the
    page now (``paging``; None when nobody is left and the page is the channel's)."""

    page: PageView
    user: str
    reason: str
    paging: str | None


class Round(StrEnum):
    """What an escalation round does to several pages at once."""

    REPEAT = "repeat"  # sent again to the person paged
    NEXT = "next"  # climbed to the next person in the rotation
    CHANNEL = "channel"  # climbed to the channel: its one ``@here`` of the round


@dataclass(frozen=True)
class Unacknowledged(Notice):
    """Several pages due in one escalation round, said in one message ("12 pages
    unacknowledged") instead of one each; ``pages`` are the first few, ``count`` all of them."""

    pages: tuple[PageView, ...]
    count: int
    kind: Round
    ids: tuple[int, ...]  # every page of it, so that a DM nobody can receive hands each on


@dataclass(frozen=True)
class StormHeld(Notice):
    """New pages held over the storm caps since ``since``: said once, updated in place."""

    pages: int
    alerts: int
    since: datetime
    per_request: int
    per_minute: int
