"""Eight weeks side by side: the compounding of investments shows over weeks, not in one."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from storage.tables import ActionItem, AuditEntry, Deploy, Stoppage


@dataclass(frozen=True)
class WeekTotals:
    """What one week's bar in the digest's chart counts."""

    week: str  # ISO week, "2026-W47"
    deploys: int
    stoppages: int
    investments: int


def first_record(session: Session) -> datetime | None:
    """When Andon began keeping the team's history: weeks before it are unknown, not zero."""
    firsts = session.execute(
        select(
            select(func.min(AuditEntry.at)).scalar_subquery(),
            select(func.min(Deploy.requested_at)).scalar_subquery(),
            select(func.min(Stoppage.opened_at)).scalar_subquery(),
            select(func.min(ActionItem.created_at)).scalar_subquery(),
        )
    ).one()
    known = [first for first in firsts if first is not None]
    return min(known) if known else None
