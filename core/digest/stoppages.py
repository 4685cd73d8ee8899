"""The line's week: how often it stopped, for how long, and what pulled the cord."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from core.digest.window import Window, counts_by_window, ranked, seconds_median
from storage.tables import Stoppage

CAUSES = ("CI", "page", "deploy", "manual")
_CAUSE_OF_VIA = {"ci": "CI", "alert": "page", "deploy": "deploy", "auto": "deploy"}


@dataclass(frozen=True)
class LineWeek:
    stoppages: int
    stopped_s: float  # time the line stood within the week
    longest_s: float | None
    restart_median_s: float | None
    causes: tuple[tuple[str, int], ...]  # every cause, most first


def line_week(session: Session, window: Window, *, now: datetime) -> LineWeek:
    opened = _opened(session, window)
    durations = [(closed or now) - at for at, closed, _ in opened]
    restarts = [(closed - at).total_seconds() for at, closed, _ in opened if closed is not None]
    causes = dict.fromkeys(CAUSES, 0)
    for _, _, via in opened:
        causes[cause_of(via)] += 1
    return LineWeek(
        stoppages=len(opened),
        stopped_s=_stood(session, window),
        longest_s=max(d.total_seconds() for d in durations) if durations else None,
        restart_median_s=seconds_median(restarts),
        causes=ranked(causes),
    )


def cause_of(via: str) -> str:
    """Who stopped it says why: CI and pages and deploys stop it themselves, people by hand."""
    return _CAUSE_OF_VIA.get(via, "manual")


def opened_counts(session: Session, windows: Sequence[Window]) -> tuple[int, ...]:
    """Stoppages opened in each window, counted in one statement."""
    return counts_by_window(session, col(Stoppage.opened_at), windows)


def _opened(session: Session, window: Window) -> list[tuple[datetime, datetime | None, str]]:
    query = select(Stoppage.opened_at, Stoppage.closed_at, Stoppage.opened_via).where(
        col(Stoppage.opened_at) >= window.start, col(Stoppage.opened_at) < window.end
    )
    return [(at, closed, via) for at, closed, via in session.exec(query)]


def _stood(session: Session, window: Window) -> float:
    """Stoppages overlap weeks: only the part inside this one counts toward it."""
    query = select(Stoppage.opened_at, Stoppage.closed_at).where(
        col(Stoppage.opened_at) < window.end,
        or_(col(Stoppage.closed_at).is_(None), col(Stoppage.closed_at) > window.start),
    )
    total = 0.0
    for at, closed in session.exec(query):
        begin, finish = max(at, window.start), min(closed or window.end, window.end)
        total += max(0.0, (finish - begin).total_seconds())
    return total
