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
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from core.deploy.state import DeployKind
from core.digest.window import Window, counts_by_window, seconds_median
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
    bad: bool = False  # its release is marked bad: rolled back from, or reverted


def dora(
    session: Session, window: Window, *, environments: Collection[str], watch: timedelta
) -> Dora:
    """``watch`` is kept for the callers; failures are no longer guessed from a time window."""
    changes = _changes(session, window, environments)
    shipped = [c for c in changes if c.status == SUCCEEDED]
    named = _named_by_stoppages(session, changes)
    failed = [c for c in changes if c.status == FAILED or c.bad or c.id in named]
    lead = [(c.finished_at - c.committed_at).total_seconds() for c in shipped if c.committed_at]
    restored = _restored(session, [c.id for c in failed if c.status == SUCCEEDED])
    return Dora(
        deploys=len(shipped),
        deploys_per_day=len(shipped) / window.days if window.days > 0 else 0.0,
        lead_time_median_s=seconds_median(lead),
        changes=len(changes),
        failed_changes=len(failed),
        change_failure_rate=len(failed) / len(changes) if changes else None,
        restore_median_s=seconds_median(restored),
    )


def deploy_counts(
    session: Session, windows: Sequence[Window], *, environments: Collection[str]
) -> tuple[int, ...]:
    """Deploys that shipped in each window, counted in one statement."""
    where = [col(Deploy.kind) == DeployKind.DEPLOY, col(Deploy.status) == SUCCEEDED]
    if environments:
        where.append(col(Deploy.environment).in_(environments))
    return counts_by_window(session, col(Deploy.finished_at), windows, where=where)


def _changes(session: Session, window: Window, environments: Collection[str]) -> list[Change]:
    """The window's changes, each with whether its release is marked bad, in one query."""
    query = (
        select(
            Deploy.id,
            Deploy.environment,
            Deploy.revision,
            Deploy.status,
            Deploy.finished_at,
            Deploy.committed_at,
            Release.bad,
        )
        .outerjoin(
            Release,
            and_(
                col(Release.environment) == col(Deploy.environment),
                col(Release.revision) == col(Deploy.revision),
            ),
        )
        .where(*_in(window, environments))
    )
    return [
        Change(number or 0, environment, revision, status, at, committed_at, bool(bad))
        for number, environment, revision, status, at, committed_at, bad in session.exec(query)
        if at is not None
    ]


def _named_by_stoppages(session: Session, changes: list[Change]) -> set[int]:
    """The changes a stoppage opened after them names as what hurt, not as where a rollback
    landed ("rolled back from X to <it>"). One query for the texts that could name any of them;
    each text is then looked up by its substrings, not searched once per change."""
    if not changes:
        return set()
    texts = session.exec(
        select(Stoppage.opened_at, StoppageCause.text)
        .join(Stoppage, col(Stoppage.id) == StoppageCause.stoppage_id)
        .where(col(Stoppage.opened_at) >= min(c.finished_at for c in changes))
    ).all()
    by_short: dict[str, list[Change]] = {}
    for change in changes:
        by_short.setdefault(change.revision[:7], []).append(change)
    lengths = {len(short) for short in by_short}
    named = set()
    for opened_at, text in texts:
        for short in _shorts_in(text, by_short, lengths):
            blamed = re.compile(rf"(?<!\bto ){re.escape(short)}")
            hurt = [c for c in by_short[short] if opened_at >= c.finished_at]
            if hurt and blamed.search(text):
                named.update(c.id for c in hurt)
    return named


def _shorts_in(text: str, shorts: dict[str, list[Change]], lengths: set[int]) -> set[str]:
    """Which of ``shorts`` occur in ``text``: a dictionary look-up at each place, per length."""
    found = set()
    for length in lengths:
        for at in range(len(text) - length + 1):
            if text[at : at + length] in shorts:
                found.add(text[at : at + length])
    return found


def _in(window: Window, environments: Collection[str]) -> list[ColumnElement[bool]]:
    """A change: a deploy (not a rollback) on the environments that finished in the window."""
    where = [
        col(Deploy.kind) == DeployKind.DEPLOY,
        col(Deploy.status).in_((SUCCEEDED, FAILED)),
        col(Deploy.finished_at) >= window.start,
        col(Deploy.finished_at) < window.end,
    ]
    if environments:
        where.append(col(Deploy.environment).in_(environments))
    return where


def _restored(session: Session, failed: list[int]) -> list[float]:
    """Seconds from each failed release going live to the change that replaced it on its
    environment (a rollback or a deploy of a fix), in one query; none for those nothing has
    replaced yet."""
    if not failed:
        return []
    later = aliased(Deploy)
    replaced = (
        select(func.min(later.finished_at))
        .where(
            col(later.environment) == col(Deploy.environment),
            col(later.status) == SUCCEEDED,
            col(later.finished_at) > col(Deploy.finished_at),
            col(later.revision) != col(Deploy.revision),
        )
        .scalar_subquery()
    )
    rows = session.exec(select(Deploy.finished_at, replaced).where(col(Deploy.id).in_(failed)))
    return [(then - at).total_seconds() for at, then in rows if at is not None and then is not None]
