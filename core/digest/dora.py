"""The four DORA measures: how fast the line ships, and how often shipping hurts.

Counted on the environments at the end of a promotion chain (production, not staging): those
no other environment names as ``after``. Time to restore is measured on pages — an alert is
how the team learns production is hurt, its resolution is when it is whole again.
"""

from bisect import bisect_right
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.digest.window import Window, seconds_median
from storage.tables import Deploy, Page, Stoppage

SUCCEEDED, FAILED = "succeeded", "failed"


@dataclass(frozen=True)
class Dora:
    deploys: int
    deploys_per_day: float
    lead_time_median_s: float | None
    changes: int  # deploys that finished, well or not: the change failure rate's denominator
    failed_changes: int
    change_failure_rate: float | None
    restore_median_s: float | None


def dora(
    session: Session, window: Window, *, environments: Collection[str], watch: timedelta
) -> Dora:
    changes = _changes(session, window, environments)
    shipped = [c for c in changes if c[1] == SUCCEEDED]
    failed = _failed(session, changes, environments=environments, watch=watch)
    lead = [(at - committed).total_seconds() for at, _, committed, _ in shipped if committed]
    return Dora(
        deploys=len(shipped),
        deploys_per_day=len(shipped) / window.days if window.days > 0 else 0.0,
        lead_time_median_s=seconds_median(lead),
        changes=len(changes),
        failed_changes=failed,
        change_failure_rate=failed / len(changes) if changes else None,
        restore_median_s=_restore(session, window),
    )


def deploy_count(session: Session, window: Window, *, environments: Collection[str]) -> int:
    query = select(func.count()).where(
        col(Deploy.kind) == "deploy",
        col(Deploy.status) == SUCCEEDED,
        col(Deploy.finished_at) >= window.start,
        col(Deploy.finished_at) < window.end,
    )
    if environments:
        query = query.where(col(Deploy.environment).in_(environments))
    return int(session.exec(query).one())


def _changes(
    session: Session, window: Window, environments: Collection[str]
) -> list[tuple[datetime, str, datetime | None, str]]:
    query = select(
        Deploy.finished_at, Deploy.status, Deploy.committed_at, Deploy.environment
    ).where(
        col(Deploy.kind) == "deploy",
        col(Deploy.status).in_((SUCCEEDED, FAILED)),
        col(Deploy.finished_at) >= window.start,
        col(Deploy.finished_at) < window.end,
    )
    if environments:
        query = query.where(col(Deploy.environment).in_(environments))
    return [(at, status, committed, env) for at, status, committed, env in session.exec(query)]


def _failed(
    session: Session,
    changes: list[tuple[datetime, str, datetime | None, str]],
    *,
    environments: Collection[str],
    watch: timedelta,
) -> int:
    """A change failed if it failed, or a rollback or a stoppage followed it within ``watch``."""
    if not changes:
        return 0
    first, last = min(c[0] for c in changes), max(c[0] for c in changes) + watch
    stops = _stoppage_times(session, first, last)
    backs = _rollback_times(session, first, last, environments)
    return sum(
        1
        for at, status, _, _ in changes
        if status == FAILED or _within(stops, at, watch) or _within(backs, at, watch)
    )


def _stoppage_times(session: Session, first: datetime, last: datetime) -> list[datetime]:
    query = select(Stoppage.opened_at).where(
        col(Stoppage.opened_at) > first, col(Stoppage.opened_at) <= last
    )
    return sorted(session.exec(query))


def _rollback_times(
    session: Session, first: datetime, last: datetime, environments: Collection[str]
) -> list[datetime]:
    query = select(Deploy.requested_at).where(
        col(Deploy.kind) == "rollback",
        col(Deploy.requested_at) > first,
        col(Deploy.requested_at) <= last,
    )
    if environments:
        query = query.where(col(Deploy.environment).in_(environments))
    return sorted(session.exec(query))


def _within(times: list[datetime], after: datetime, watch: timedelta) -> bool:
    """Is there a time in (after, after + watch]? ``times`` is sorted."""
    index = bisect_right(times, after)
    return index < len(times) and times[index] <= after + watch


def _restore(session: Session, window: Window) -> float | None:
    query = select(Page.opened_at, Page.resolved_at).where(
        col(Page.opened_at) >= window.start,
        col(Page.opened_at) < window.end,
        col(Page.resolved_at).is_not(None),
    )
    return seconds_median([(done - at).total_seconds() for at, done in session.exec(query)])
