"""The pager's week: a pager that goes off too often gets ignored, so the noisiest come first."""

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.digest.window import Window, ranked, seconds_median
from storage.tables import Page, PageEvent

NOISIEST = 5


@dataclass(frozen=True)
class PagerWeek:
    pages: int
    by_check: tuple[tuple[str, int], ...]  # the noisiest first
    ack_median_s: float | None
    escalations: int


def pager_week(session: Session, window: Window) -> PagerWeek:
    rows = list(
        session.exec(
            select(Page.name, Page.opened_at, Page.acked_at).where(
                col(Page.opened_at) >= window.start, col(Page.opened_at) < window.end
            )
        )
    )
    counts: dict[str, int] = {}
    for name, _, _ in rows:
        counts[name] = counts.get(name, 0) + 1
    acks = [(acked - at).total_seconds() for _, at, acked in rows if acked is not None]
    return PagerWeek(
        pages=len(rows),
        by_check=ranked(counts, NOISIEST),
        ack_median_s=seconds_median(acks),
        escalations=_escalations(session, window),
    )


def _escalations(session: Session, window: Window) -> int:
    query = select(func.count()).where(
        col(PageEvent.kind) == "escalated",
        col(PageEvent.at) >= window.start,
        col(PageEvent.at) < window.end,
    )
    return int(session.exec(query).one())
