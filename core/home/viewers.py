"""Who opened the Home tab, and whose Home no longer shows the latest.

A change the Home shows (the line stops or starts, a cause is added, a deploy starts or ends, an
action item is done) marks the Homes of recent viewers stale in the changing transaction; a
publisher outside it claims each stale Home with a short lease — as the courier claims outbox
rows — publishes it, and settles what it showed. Slack never sits inside the line's transaction,
several replicas never publish one Home at once, and a failed publish is tried again later.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import case, literal, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.clock import Clock
from storage.tables import HomeViewer
from storage.types import UTCDateTime

RECENT = timedelta(days=30)  # a Home opened longer ago is not kept fresh
LEASE = timedelta(seconds=60)
MAX_BACKOFF = timedelta(minutes=5)
_MARKED = "andon.homes_marked"  # in ``Session.info``: this unit of work marked every Home stale
_STALE = "andon.homes_stale"  # in ``Session.info``: this unit of work marked some Home stale


def seen(session: Session, *, clock: Clock, user: str) -> None:
    """Someone looks at their Home (they opened it, or pressed a button on it): remember them,
    and mark theirs to publish now."""
    now = clock.now()
    if _touch(session, user, now):
        return
    try:
        with session.begin_nested():
            session.add(HomeViewer(user_id=user, opened_at=now, stale=1, next_attempt_at=now))
    except IntegrityError:  # another replica remembered them first
        _touch(session, user, now)


def changed(session: Session, *, clock: Clock, users: Iterable[str] | None = None) -> None:
    """Something the Home shows changed: the Homes of recent viewers (or of these ``users``
    among them) are stale, in the caller's transaction."""
    if users is None:
        if session.info.get(_MARKED):
            return  # every recent Home is marked already: they are published after the commit
        session.info[_MARKED] = True
    now = clock.now()
    query = select(HomeViewer.user_id).where(col(HomeViewer.opened_at) >= now - RECENT)
    if users is not None:
        query = query.where(col(HomeViewer.user_id).in_(sorted({user for user in users if user})))
    # Rows are locked in one order by every change, so two changes never deadlock on them.
    stale = session.exec(query.order_by(col(HomeViewer.user_id)).with_for_update()).all()
    if not stale:
        return
    session.info[_STALE] = True
    # A Home waiting out Slack's back-off keeps waiting; any other is due now.
    waiting = col(HomeViewer.next_attempt_at)
    due_at = case((waiting > now, waiting), else_=literal(now, UTCDateTime()))
    session.execute(
        update(HomeViewer)
        .where(col(HomeViewer.user_id).in_(stale))
        .values(stale=col(HomeViewer.stale) + 1, next_attempt_at=due_at)
    )


def marked(session: Session) -> bool:
    """Whether the session's unit of work marked a Home stale: only then is the publisher
    woken once it commits (a command that changes nothing a Home shows leaves it asleep)."""
    return bool(session.info.get(_STALE))


def due(session: Session, *, clock: Clock, limit: int = 200) -> list[str]:
    """Stale Homes nobody holds, whose next attempt is due: the most recent viewers first."""
    now = clock.now()
    rows = session.exec(
        select(HomeViewer.user_id)
        .where(col(HomeViewer.stale) > 0, col(HomeViewer.next_attempt_at) <= now)
        .where(or_(col(HomeViewer.claimed_until).is_(None), col(HomeViewer.claimed_until) < now))
        .order_by(col(HomeViewer.opened_at).desc())
        .limit(limit)
    ).all()
    return list(rows)


def claim(session: Session, *, clock: Clock, user: str, holder: str) -> int | None:
    """Take one stale Home for ``holder``; returns how many changes it is behind, or None when
    it is fresh, not due, or someone else holds it. One conditional update decides."""
    now = clock.now()
    taken = session.execute(
        update(HomeViewer)
        .where(
            col(HomeViewer.user_id) == user,
            col(HomeViewer.stale) > 0,
            col(HomeViewer.next_attempt_at) <= now,
            or_(col(HomeViewer.claimed_until).is_(None), col(HomeViewer.claimed_until) < now),
        )
        .values(claimed_until=now + LEASE, claimed_by=holder)
    )
    if taken.rowcount != 1:
        return None
    row = session.get(HomeViewer, user, populate_existing=True)
    return row.stale if row is not None else None


def published(session: Session, *, clock: Clock, user: str, holder: str, shown: int) -> None:
    """The Home went out: the changes it was behind are shown; later ones keep it stale."""
    _settle(
        session,
        user=user,
        holder=holder,
        stale=col(HomeViewer.stale) - shown,
        attempts=0,
        published_at=clock.now(),
        last_error=None,
    )


def postponed(
    session: Session,
    *,
    clock: Clock,
    user: str,
    holder: str,
    reason: str,
    after: timedelta | None = None,
) -> timedelta:
    """Slack was busy or down: try again later (after what it asked, or a growing wait)."""
    row = session.get(HomeViewer, user, populate_existing=True)
    attempts = (row.attempts if row is not None else 0) + 1
    wait = after if after is not None else min(timedelta(seconds=2 ** (attempts - 1)), MAX_BACKOFF)
    _settle(
        session,
        user=user,
        holder=holder,
        attempts=attempts,
        next_attempt_at=clock.now() + wait,
        last_error=reason,
    )
    return wait


def refused(
    session: Session, *, clock: Clock, user: str, holder: str, shown: int, reason: str
) -> None:
    """Slack refused this Home for good: the changes it was behind are given up (the next change
    or opening tries again), and the reason is kept beside the viewer."""
    _settle(
        session,
        user=user,
        holder=holder,
        stale=col(HomeViewer.stale) - shown,
        attempts=0,
        last_error=f"{clock.now().isoformat()}: {reason}",
    )


def _settle(session: Session, *, user: str, holder: str, **values: object) -> None:
    """Only the holder settles: a publisher whose lease ran out leaves the row to its taker."""
    session.execute(
        update(HomeViewer)
        .where(col(HomeViewer.user_id) == user, col(HomeViewer.claimed_by) == holder)
        .values(claimed_until=None, claimed_by=None, **values)
    )


def _touch(session: Session, user: str, now: datetime) -> bool:
    touched = session.execute(
        update(HomeViewer)
        .where(col(HomeViewer.user_id) == user)
        .values(opened_at=now, stale=col(HomeViewer.stale) + 1, next_attempt_at=now, attempts=0)
    )
    return touched.rowcount == 1
