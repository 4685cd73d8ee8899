"""The digest's unit: an ISO week, Monday to Monday in the team's time zone."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_LABEL = re.compile(r"(\d{4})-W(\d{2})")


class WeekError(ValueError):
    """A week spelled in a way we cannot read; the message says how to write one."""


@dataclass(frozen=True)
class Week:
    """One ISO week; ``start`` and ``end`` are the UTC instants of its local Monday midnights."""

    year: int
    number: int
    timezone: str = "UTC"

    @classmethod
    def containing(cls, moment: datetime, timezone: str = "UTC") -> "Week":
        year, number, _ = moment.astimezone(ZoneInfo(timezone)).isocalendar()
        return cls(year, number, timezone)

    @classmethod
    def parse(cls, text: str, *, now: datetime, timezone: str = "UTC") -> "Week":
        """``this``, ``last`` or ``2026-W47``: the ways people name a week."""
        spelled = text.strip()
        this = cls.containing(now, timezone)
        if spelled.lower() in ("", "this"):
            return this
        if spelled.lower() == "last":
            return this.previous()
        match = _LABEL.fullmatch(spelled.upper())
        if match is None:
            raise WeekError(f"{text!r} is not a week; write this, last or e.g. 2026-W47")
        year, number = int(match[1]), int(match[2])
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError:
            raise WeekError(f"{year} has no week {number}") from None
        return cls(year, number, timezone)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def start(self) -> datetime:
        return _midnight(self.monday, self.timezone)

    @property
    def end(self) -> datetime:
        return _midnight(self.monday + timedelta(days=7), self.timezone)

    def previous(self, weeks: int = 1) -> "Week":
        earlier = self.monday - timedelta(weeks=weeks)
        year, number, _ = earlier.isocalendar()
        return Week(year, number, self.timezone)

    def __str__(self) -> str:
        return self.label


def _midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)
