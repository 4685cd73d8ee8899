"""CI's week: how often it passes and how long it makes people wait, against the budget."""

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from core.digest.window import Window, seconds_median
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
    rows = list(
        session.exec(
            select(CiResult.pipeline, CiResult.status, CiResult.duration_s).where(
                col(CiResult.received_at) >= window.start,
                col(CiResult.received_at) < window.end,
                col(CiResult.status).in_(("passed", "failed")),
            )
        )
    )
    passed = sum(1 for _, status, _ in rows if status == "passed")
    durations = [d for _, _, d in rows if d is not None]
    limit = budget.total_seconds() if budget is not None else None
    return CiWeek(
        runs=len(rows),
        passed=passed,
        pass_rate=passed / len(rows) if rows else None,
        duration_median_s=seconds_median(durations),
        budget_s=limit,
        over_budget=sum(1 for d in durations if limit is not None and d > limit),
        slowest=_slowest(rows),
    )


def _slowest(rows: list[tuple[str, str, float | None]]) -> tuple[tuple[str, float], ...]:
    by_pipeline: dict[str, list[float]] = {}
    for pipeline, _, duration in rows:
        if duration is not None:
            by_pipeline.setdefault(pipeline, []).append(duration)
    medians = {name: seconds_median(values) or 0.0 for name, values in by_pipeline.items()}
    ordered = sorted(medians.items(), key=lambda pair: (-pair[1], pair[0]))
    return tuple(ordered[:SLOWEST])
