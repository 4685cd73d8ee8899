"""CI's week: how often it passes and how long it makes people wait, against the budget."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, case, func
from sqlmodel import Session, col, select

from core.digest.window import Window, seconds_median
from storage.tables import CiResult

SLOWEST = 3
_CI = CiResult.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CiWeek:
    runs: int  # finished runs: passed or failed
    passed: int
    pass_rate: float | None
    duration_median_s: float | None
    budget_s: float | None
    over_budget: int
    slowest: tuple[tuple[str, float], ...]  # pipeline and its median duration, slowest first


def ci_week(session: Session, window: Window, *, budget: timedelta | None) -> CiWeek:
    """Counted by the database; medians need every duration of the week, read as bare rows
    (the ORM's loading cost twice the reading). A database's window functions gave the same
    medians for twice the time, spent sorting."""
    limit = budget.total_seconds() if budget is not None else None
    runs, passed = session.execute(
        select(func.count(), func.count(case((col(_CI.c.status) == "passed", 1)))).where(
            *_finished(window)
        )
    ).one()
    timed = select(_CI.c.pipeline, _CI.c.duration_s).where(
        *_finished(window), col(_CI.c.duration_s).is_not(None)
    )
    by_pipeline: dict[str, list[float]] = {}
    for pipeline, duration in session.connection().execute(timed):
        by_pipeline.setdefault(pipeline, []).append(duration)
    durations = [d for each in by_pipeline.values() for d in each]
    return CiWeek(
        runs=runs,
        passed=passed,
        pass_rate=passed / runs if runs else None,
        duration_median_s=seconds_median(durations),
        budget_s=limit,
        over_budget=sum(1 for d in durations if d > limit) if limit is not None else 0,
        slowest=_slowest(by_pipeline),
    )


def _finished(window: Window) -> tuple[ColumnElement[bool], ...]:
    return (
        col(_CI.c.received_at) >= window.start,
        col(_CI.c.received_at) < window.end,
        col(_CI.c.status).in_(("passed", "failed")),
    )


def _slowest(by_pipeline: dict[str, list[float]]) -> tuple[tuple[str, float], ...]:
    medians = {name: seconds_median(values) or 0.0 for name, values in by_pipeline.items()}
    ordered = sorted(medians.items(), key=lambda pair: (-pair[1], pair[0]))
    return tuple(ordered[:SLOWEST])
