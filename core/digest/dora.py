"""The four DORA measures: how fast the line ships, and how often shipping hurts.

Counted on the environments at the end of a promotion chain (production, not staging): those
no other environment names as ``after``.

A change — a deploy that finished, well or not — **failed** when its own release was reverted
(the deploy failed and its hosts were flipped back), rolled back from or marked bad on its
environment, or named by a stoppage opened after it went live ("production rolled back from
3f2a9c1 …", "deploy of 3f2a9c1 failed …"). A stoppage that merely happened soon after a deploy
is not that deploy's failure.

**Time to restore** runs from a failed change going live to the next change that made its
environment whole again: the rollback, or the fix's deploy. A deploy that failed and was flipped
back never left production hurt, so it has no time to restore.
"""

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.deploy.state import DeployKind
from core.digest.window import Window, seconds_median
from storage.tables import Deploy, Release, Stoppage, StoppageCause

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


@dataclass(frozen=True)
class Change:
    id: int
    environment: str
    revision: str
    status: str
    finished_at: datetime
    committed_at: datetime | None


def dora(
    session: Session, window: Window, *, environments: Collection[str], watch: timedelta
) -> Dora:
    """``watch`` is kept for the callers; failures are no longer guessed from a time window."""
    changes = _changes(session, window, environments)
    shipped = [c for c in changes if c.status == SUCCEEDED]
    failed = [c for c in changes if _failed(session, c)]
    lead = [(c.finished_at - c.committed_at).total_seconds() for c in shipped if c.committed_at]
    restored = [_restored_after(session, c) for c in failed if c.status == SUCCEEDED]
    return Dora(
        deploys=len(shipped),
        deploys_per_day=len(shipped) / window.days if window.days > 0 else 0.0,
        lead_time_median_s=seconds_median(lead),
        changes=len(changes),
        failed_changes=len(failed),
        change_failure_rate=len(failed) / len(changes) if changes else None,
        restore_median_s=seconds_median([s for s in restored if s is not None]),
    )


def deploy_count(session: Session, window: Window, *, environments: Collection[str]) -> int:
    query = select(func.count()).where(
        col(Deploy.kind) == DeployKind.DEPLOY,
        col(Deploy.status) == SUCCEEDED,
        col(Deploy.finished_at) >= window.start,
        col(Deploy.finished_at) < window.end,
    )
    if environments:
        query = query.where(col(Deploy.environment).in_(environments))
    return int(session.exec(query).one())


def _changes(session: Session, window: Window, environments: Collection[str]) -> list[Change]:
    query = select(Deploy).where(
        col(Deploy.kind) == DeployKind.DEPLOY,
        col(Deploy.status).in_((SUCCEEDED, FAILED)),
        col(Deploy.finished_at) >= window.start,
        col(Deploy.finished_at) < window.end,
    )
    if environments:
        query = query.where(col(Deploy.environment).in_(environments))
    return [
        Change(d.id or 0, d.environment, d.revision, d.status, d.finished_at, d.committed_at)
        for d in session.exec(query)
        if d.finished_at is not None
    ]


def _failed(session: Session, change: Change) -> bool:
    """Reverted, rolled back from or marked bad, or named by a stoppage it caused."""
    if change.status == FAILED:
        return True
    bad = session.exec(
        select(Release.bad).where(
            Release.environment == change.environment, Release.revision == change.revision
        )
    ).first()
    return bool(bad) or _named_by_a_stoppage(session, change)


def _named_by_a_stoppage(session: Session, change: Change) -> bool:
    """Named as what hurt, not as where a rollback landed ("rolled back from X to <it>")."""
    short = change.revision[:7]
    texts = session.exec(
        select(StoppageCause.text)
        .join(Stoppage, col(Stoppage.id) == StoppageCause.stoppage_id)
        .where(
            col(Stoppage.opened_at) >= change.finished_at,
            col(StoppageCause.text).contains(short),
        )
    ).all()
    blamed = re.compile(rf"(?<!\bto ){re.escape(short)}")
    return any(blamed.search(text) for text in texts)


def _restored_after(session: Session, change: Change) -> float | None:
    """Seconds from the failed release going live to the change that replaced it on its
    environment (a rollback or a deploy of a fix); None while nothing has yet."""
    restored = session.exec(
        select(func.min(Deploy.finished_at)).where(
            col(Deploy.environment) == change.environment,
            col(Deploy.status) == SUCCEEDED,
            col(Deploy.finished_at) > change.finished_at,
            col(Deploy.revision) != change.revision,
        )
    ).one()
    if restored is None:
        return None
    return (restored - change.finished_at).total_seconds()
