"""Moments as people type them in chat: ``tomorrow 10:00``, ``2026-12-01 15:00``, ``fri 17:00``,
``in 2h`` — read in the team's time zone, stored in UTC."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from core.durations import parse_duration

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})"
_FORMS = (
    re.compile(rf"(?P<date>\d{{4}}-\d{{2}}-\d{{2}})(?:[ T]{_CLOCK})?"),
    re.compile(rf"(?P<word>today|tomorrow)(?: {_CLOCK})?"),
    re.compile(rf"(?P<day>mon|tue|wed|thu|fri|sat|sun)[a-z]*(?: {_CLOCK})?"),
    re.compile(_CLOCK),
)
HINT = "write e.g. `tomorrow 10:00`, `2026-12-01 15:00`, `fri 17:00` or `in 2h`"


class MomentError(ValueError):
    """Not a moment Andon can read; the message says how to write one."""


def parse_moment(text: str, *, now: datetime, timezone: str = "UTC") -> datetime:
    """The moment ``text`` names, in UTC; always in the future of ``now`` unless a date says not."""
    spoken = " ".join(text.lower().split())
    if spoken.startswith("in "):
        try:
            return now + parse_duration(spoken[3:])
        except ValueError:
            raise MomentError(f"{text!r} is not a moment; {HINT}") from None
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    for form in _FORMS:
        match = form.fullmatch(spoken)
        if match is not None:
            return _resolve(match.groupdict(), local).astimezone(UTC)
    raise MomentError(f"{text!r} is not a moment; {HINT}")


def _resolve(parts: dict[str, str | None], local: datetime) -> datetime:
    hour, minute = int(parts.get("hour") or 9), int(parts.get("minute") or 0)
    if hour > 23 or minute > 59:
        raise MomentError(f"{hour}:{minute:02d} is not a time of day; {HINT}")
    at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if parts.get("date"):
        try:
            day = datetime.strptime(parts["date"] or "", "%Y-%m-%d")
        except ValueError:
            raise MomentError(f"{parts['date']} is not a date; {HINT}") from None
        return at.replace(year=day.year, month=day.month, day=day.day)
    if parts.get("word") == "tomorrow":
        return at + timedelta(days=1)
    if parts.get("word") == "today":
        return at
    if parts.get("day"):
        ahead = (_DAYS.index(parts["day"] or "mon") - local.weekday()) % 7
        at += timedelta(days=ahead)
        return at if at > local else at + timedelta(days=7)
    return at if at > local else at + timedelta(days=1)  # a bare time: its next occurrence
