"""Eight weeks side by side: the compounding of investments shows over weeks, not in one."""

from dataclasses import dataclass


@dataclass(frozen=True)
class WeekTotals:
    """What one week's bar in the digest's chart counts."""

    week: str  # ISO week, "2026-W47"
    deploys: int
    stoppages: int
    investments: int
