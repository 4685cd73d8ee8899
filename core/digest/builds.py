"""CI's week: how often it passes and how long it makes people wait, against the budget."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Select, Subquery, case, func, literal, union_all
from sqlmodel import Session, col, select

from core.digest.window import Window
from storage.tables import CiResult

SLOWEST = 3


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
    """Counted and ranked by the database: a week is thousands of runs, and only a few figures
    leave it. Medians are exact, as ``statistics.median`` takes them: the middle duration, or
    the mean of the middle two."""
    limit = budget.total_seconds() if budget is not None else None
    week = _finished(window)
    runs, passed, over = session.execute(
        select(
            func.count(),
            func.count(case((col(week.c.status) == "passed", 1))),
            func.count(case((col(week.c.duration_s) > (limit or 0.0), 1))),
        )
    ).one()
    medians = dict(session.execute(_medians(week)).all())
    overall = medians.pop(_ALL, None)
    return CiWeek(
        runs=runs,
        passed=passed,
        pass_rate=passed / runs if runs else None,
        duration_median_s=float(overall) if overall is not None else None,
        budget_s=limit,
        over_budget=over if limit is not None else 0,
        slowest=ranked_slowest(medians),
    )


_ALL = ""  # the whole week's median, beside each pipeline's (no pipeline is named "")


def _finished(window: Window) -> Subquery:
    return (
        select(CiResult.pipeline, CiResult.status, CiResult.duration_s)
        .where(
            col(CiResult.received_at) >= window.start,
            col(CiResult.received_at) < window.end,
            col(CiResult.status).in_(("passed", "failed")),
        )
        .subquery("week")
    )


def _medians(week: Subquery) -> Select[tuple[str, float]]:
    """(pipeline, median) for each pipeline, and (``_ALL``, the week's median)."""
    timed = select(week).where(col(week.c.duration_s).is_not(None)).subquery("timed")
    pipeline = col(timed.c.pipeline)
    whole = literal(_ALL).label("pipeline")
    parts = []
    for group, partition in ((pipeline, pipeline), (whole, None)):
        order = col(timed.c.duration_s)
        ranked = select(
            group.label("pipeline"),
            timed.c.duration_s,
            func.row_number().over(partition_by=partition, order_by=order).label("k"),
            func.count().over(partition_by=partition).label("n"),
        ).subquery()
        middle = (ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2
        parts.append(
            select(ranked.c.pipeline, func.avg(ranked.c.duration_s))
            .where(col(ranked.c.k).in_(middle))
            .group_by(ranked.c.pipeline)
        )
    return union_all(*parts)  # type: ignore[return-value]


def ranked_slowest(medians: dict[str, float]) -> tuple[tuple[str, float], ...]:
    ordered = sorted(
        ((name, float(value)) for name, value in medians.items()),
        key=lambda pair: (-pair[1], pair[0]),
    )
    return tuple(ordered[:SLOWEST])
