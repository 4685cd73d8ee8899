"""Durations as people write them in andon.toml and in chat: ``90s``, ``5m``, ``2h``, ``1d``."""

import re
from datetime import timedelta

# Units largest first, each at most once, so "1h30m" reads one way only.
_DURATION = re.compile(
    r"(?:(?P<d>\d{1,6})\s*d)?\s*"
    r"(?:(?P<h>\d{1,7})\s*h)?\s*"
    r"(?:(?P<m>\d{1,9})\s*m)?\s*"
    r"(?:(?P<s>\d{1,11})\s*s)?",
    re.IGNORECASE,
)
_UNIT = {
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
}
_HINT = "write e.g. 90s, 5m, 2h, 1d"


def parse_duration(text: str) -> timedelta:
    """Turn ``"1h30m"`` into a timedelta, refusing anything a reader could take two ways."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a duration; {_HINT} (in quotes)")
    match = _DURATION.fullmatch(text.strip())
    if match is None or not any(match.groupdict().values()):
        raise ValueError(f"{text!r} is not a duration; {_HINT}")
    total = timedelta()
    for unit, amount in match.groupdict().items():
        if amount:
            total += int(amount) * _UNIT[unit]
    if total <= timedelta():
        raise ValueError(f"{text!r} is zero; a duration must be longer than that ({_HINT})")
    return total
