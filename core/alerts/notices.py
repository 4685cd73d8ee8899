"""What paging announces; the fronts decide how it looks."""

from dataclasses import dataclass

from core.alerts.pages import PageView
from core.notifier import Notice


@dataclass(frozen=True)
class Paged(Notice):
    """The DM to the person on call (updated in place as the page is acked or resolved)."""

    page: PageView
    reminder: bool = False


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
