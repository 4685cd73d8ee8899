"""An alert storm is contained: new pages are capped per delivery and per minute, and what is
held past the caps is recorded and told once.

A new page past ``[alerts] max_new_pages_per_request`` (in one delivery) or
``max_new_pages_per_minute`` (pages opened in the last minute, by every delivery) is held:
recorded as a page with status ``held`` and its alerts, paged by nobody, stopping nothing. An
alert joining a page that is open already, a re-send and a resolution never count. A held page
is paged when one of its alerts is sent again and there is room; it resolves with its alerts.

The channel hears once how many were held: one message per storm (a storm lasts while pages
keep being held, each within a minute of the last), updated in place as more are held — at most
every ``TELL_EVERY``, and the scheduler's tick catches it up once the storm is over.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text, update
from sqlmodel import Session, col, func, select

from core.alerts.notices import StormHeld
from core.clock import Clock
from core.config.alerts import AlertsConfig
from core.notifier import MessageRef, Notifier
from storage.tables import AlertStorm, PageEvent

MINUTE = timedelta(minutes=1)
TELL_EVERY = timedelta(seconds=10)  # a storm's message is updated at most this often
CAUGHT_UP = timedelta(hours=1)  # storms older than this are not looked at again
STORM = "storm"  # a page's ``held_for`` when the caps held it (the other reason is flapping)
PAGED = "paged"  # the page event of every page opened (or held, then paged): what a minute counts

_LOCK = "andon:alerts:new-pages"


@dataclass
class Room:
    """How many new pages one delivery may still open, chunk after chunk.

    The minute's count is read once per chunk (its own transaction) and then kept by hand:
    every page a chunk opens is one more.
    """

    alerts: AlertsConfig
    opened: int = 0
    _minute: int | None = None

    def next_chunk(self) -> None:
        self._minute = None

    def take(self, session: Session, now: datetime) -> str | None:
        """One more new page, or which cap holds it: ``request`` or ``minute``."""
        if self.opened >= self.alerts.max_new_pages_per_request:
            return "request"
        if self._minute is None:
            _serialise(session)
            self._minute = paged_since(session, now - MINUTE)
        if self._minute >= self.alerts.max_new_pages_per_minute:
            return "minute"
        self.opened += 1
        self._minute += 1
        return None

    def why(self, cap: str) -> str:
        """A held page's event: which cap held it."""
        if cap == "request":
            return f"storm: over {self.alerts.max_new_pages_per_request} new pages in one delivery"
        return f"storm: over {self.alerts.max_new_pages_per_minute} new pages a minute"


def paged_since(session: Session, since: datetime) -> int:
    """Pages opened (or paged after being held) since then, by every delivery and replica."""
    found = session.exec(
        select(func.count())
        .select_from(PageEvent)
        .where(PageEvent.kind == PAGED, col(PageEvent.at) >= since)
    ).one()
    return int(found)


def held(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    alerts: AlertsConfig,
    pages: int,
    alerts_held: int,
) -> None:
    """A delivery held ``pages`` new pages: the storm's one message says so, or starts."""
    now = clock.now()
    _serialise(session)
    storm = session.exec(
        select(AlertStorm)
        .where(col(AlertStorm.last_held_at) >= now - MINUTE)
        .order_by(col(AlertStorm.id).desc())
    ).first()
    if storm is None:
        storm = AlertStorm(
            started_at=now,
            last_held_at=now,
            pages=pages,
            alerts=alerts_held,
            told_pages=pages,
            told_alerts=alerts_held,
            told_at=now,
        )
        session.add(storm)
        storm.message_id = notifier.post(_notice(storm, alerts)).id
        session.add(storm)
        return
    storm.pages, storm.alerts, storm.last_held_at = (
        storm.pages + pages,
        storm.alerts + alerts_held,
        now,
    )
    session.add(storm)
    if now - storm.told_at >= TELL_EVERY:
        _retell(session, notifier=notifier, storm=storm, alerts=alerts, now=now)


def catch_up(session: Session, *, notifier: Notifier, clock: Clock, alerts: AlertsConfig) -> int:
    """The tick's part: a storm's message that says less than was held is brought up to date
    (once ``TELL_EVERY`` has passed since it last changed). Returns how many were."""
    now = clock.now()
    behind = session.exec(
        select(AlertStorm)
        .where(col(AlertStorm.last_held_at) >= now - CAUGHT_UP)
        .where(col(AlertStorm.told_at) <= now - TELL_EVERY)
        .where(
            (col(AlertStorm.pages) != col(AlertStorm.told_pages))
            | (col(AlertStorm.alerts) != col(AlertStorm.told_alerts))
        )
    ).all()
    return sum(
        _retell(session, notifier=notifier, storm=storm, alerts=alerts, now=now) for storm in behind
    )


def _retell(
    session: Session, *, notifier: Notifier, storm: AlertStorm, alerts: AlertsConfig, now: datetime
) -> bool:
    """Update the message in place, once however many replicas try (the one that moves
    ``told_at`` does it)."""
    claimed = session.execute(
        update(AlertStorm)
        .where(col(AlertStorm.id) == storm.id, col(AlertStorm.told_at) == storm.told_at)
        .values(told_at=now, told_pages=storm.pages, told_alerts=storm.alerts)
    )
    if claimed.rowcount != 1:
        return False
    storm.told_at, storm.told_pages, storm.told_alerts = now, storm.pages, storm.alerts
    if storm.message_id is not None:
        notifier.update(MessageRef(storm.message_id), _notice(storm, alerts))
    return True


def _notice(storm: AlertStorm, alerts: AlertsConfig) -> StormHeld:
    return StormHeld(
        pages=storm.pages,
        alerts=storm.alerts,
        since=storm.started_at,
        per_request=alerts.max_new_pages_per_request,
        per_minute=alerts.max_new_pages_per_minute,
    )


def _serialise(session: Session) -> None:
    """On PostgreSQL, deliveries count the minute's pages (and find the storm) one at a time,
    so two at once cannot both take the last room; SQLite's one writer does that already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": _LOCK}
        )
