"""How ``core`` writes times and durations into the sentences people read."""

from datetime import datetime, timedelta


def at(moment: datetime, *, now: datetime | None = None) -> str:
    """``14:02 UTC`` today, ``2026-11-24 14:02 UTC`` on another day."""
    if now is not None and moment.date() == now.date():
        return moment.strftime("%H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def span(length: timedelta) -> str:
    """A duration the way people say it: ``45 s``, ``12 min``, ``2 h 5 min``, ``3 d 4 h``."""
    seconds = max(int(length.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``1 file``, ``2 files``: a count reads as people say it, never ``file(s)``."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def listed(items: list[str]) -> str:
    """``2``, ``2 and 3``, ``2, 3 and 4``: a short list as a sentence says it."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
