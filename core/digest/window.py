"""The stretch of time one column of the digest counts, and the arithmetic all sections share."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlmodel import Session

from core.digest.week import Week


@dataclass(frozen=True)
class Window:
    """A week, cut at ``now`` while it is still running: nothing after now is counted."""

    week: Week
    start: datetime
    end: datetime

    @classmethod
    def of(cls, week: Week, now: datetime) -> "Window":
        return cls(week, week.start, max(week.start, min(week.end, now)))

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86_400


def seconds_median(values: list[float]) -> float | None:
    """A typical duration; one slow outlier should not move it, so the median, not the mean."""
    return float(median(values)) if values else None


def ranked(counts: dict[str, int], top: int | None = None) -> tuple[tuple[str, int], ...]:
    """Most first, then by name, so the same history always reads the same."""
    ordered = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    return tuple(ordered[:top] if top is not None else ordered)


def counts_by_window(
    session: Session,
    at: Any,
    windows: Sequence[Window],
    *,
    where: Sequence[ColumnElement[bool]] = (),
) -> tuple[int, ...]:
    """How many rows ``at`` places in each window, in one pass over their span rather than a
    query per window: the trend's eight weeks cost one statement per table."""
    counted = [func.count(case((and_(at >= w.start, at < w.end), 1))) for w in windows]
    span = (at >= min(w.start for w in windows), at < max(w.end for w in windows))
    row = session.execute(select(*counted).where(*span, *where)).one()
    return tuple(int(n) for n in row)
