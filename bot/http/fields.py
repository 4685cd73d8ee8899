"""A webhook's JSON read field by field, so that a wrong field is named in the 422 the sender sees.

Build results and alerts are read alike but for two rules: each door refuses with the error
``core`` hears from it (``BadReportError`` from a CI, ``BadAlertError`` from a monitoring system),
and alerts are looser — their text is trimmed, where a build result's is taken as sent, so a padded
status is refused. What people read of an alert (values) is cut to fit rather than refused.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.alerts.event import BadAlertError
from core.ci.report import BadReportError

Refusal = Callable[[str, str], Exception]
"""The error for a bad field, from its dotted path ("" for the body itself) and the problem."""

MAX_TEXT = 255  # the longest branch, run id or author the results table holds
LONGEST_KEY = 255  # an alert's identity is ``source:key`` in a 300-character column
LONGEST_NAME = 255
LONGEST_SEVERITY = 32
LONGEST_VALUE = 255
SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Rules:
    """What differs between the doors that read JSON: the error a bad field raises, and whether
    text is trimmed."""

    refused: Refusal
    trimmed: bool


def _bad_report(where: str, problem: str) -> Exception:
    return BadReportError(where or "body", problem)


def _bad_alert(where: str, problem: str) -> Exception:
    return BadAlertError(f"{where or 'the body'} {problem}", field=where or "body")


BUILD_RESULTS = Rules(refused=_bad_report, trimmed=False)
ALERTS = Rules(refused=_bad_alert, trimmed=True)


class Fields:
    """One JSON object of a payload, and its path in the body (``object_attributes.sha``)."""

    def __init__(self, value: object, path: str = "", *, rules: Rules) -> None:
        self._rules = rules
        self._path = path
        if not isinstance(value, dict):
            raise rules.refused(path, "must be a JSON object")
        self._value = value

    def where(self, name: str) -> str:
        """The dotted path of ``name``, as the sender's documentation spells it."""
        return f"{self._path}.{name}" if self._path else name

    def bad(self, name: str, problem: str) -> Exception:
        """The error that names ``name`` to the sender, for the caller to raise."""
        return self._rules.refused(self.where(name), problem)

    def raw(self, name: str) -> object:
        """The value as sent, for the few fields whose type the caller checks itself."""
        return self._value.get(name)

    def child(self, name: str) -> "Fields | None":
        """A nested object, or None when it is absent or null."""
        value = self._value.get(name)
        return None if value is None else Fields(value, self.where(name), rules=self._rules)

    def required_child(self, name: str) -> "Fields":
        """A nested object the payload cannot be read without."""
        found = self.child(name)
        if found is None:
            raise self.bad(name, "is missing")
        return found

    def items(self, name: str) -> list[object]:
        """A list, empty when absent or null."""
        value = self._value.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.bad(name, f"must be a list, not {kind(value)}")
        return value

    def required_items(self, name: str) -> list[object]:
        """A list the payload cannot be read without (it may be empty)."""
        if self._value.get(name) is None:
            raise self.bad(name, "is missing")
        return self.items(name)

    def text(self, name: str, *, longest: int | None = None) -> str:
        """A string the payload cannot be read without."""
        found = self.optional_text(name, longest=longest)
        if found is None:
            raise self.bad(name, "is blank" if isinstance(self.raw(name), str) else "is missing")
        return found

    def optional_text(self, name: str, *, longest: int | None = None) -> str | None:
        """A string (trimmed, by the rules), or None when absent, null or blank."""
        value = self._value.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.bad(name, f"must be a string, not {kind(value)}")
        if self._rules.trimmed:
            value = value.strip()
        if longest is not None and len(value) > longest:
            raise self.bad(name, f"is longer than {longest} characters")
        return value if value.strip() else None

    def identifier(self, name: str) -> str:
        """An id the payload cannot be told apart without (a run's number, a build's id)."""
        found = self.optional_identifier(name)
        if found is None:
            raise self.bad(name, "is missing")
        return found

    def optional_identifier(self, name: str) -> str | None:
        """An id senders send as a number or as a string, as a string."""
        value = self._value.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if value is not None and not isinstance(value, str):
            raise self.bad(name, f"must be a string or a number, not {kind(value)}")
        return self.optional_text(name, longest=MAX_TEXT)

    def number(self, name: str) -> float | None:
        """A finite, non-negative count (seconds, milliseconds), or None when absent."""
        value = self._value.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.bad(name, f"must be a number, not {kind(value)}")
        if not math.isfinite(value) or value < 0:
            raise self.bad(name, "must be a finite number, not negative")
        return float(value)

    def duration(self, name: str, *, unit: timedelta = SECOND) -> timedelta | None:
        """A number of ``unit``s as a duration, or None when absent."""
        count = self.number(name)
        if count is None:
            return None
        try:
            return unit * count
        except OverflowError:
            raise self.bad(name, "is too long to be a duration") from None

    def reading(self, name: str) -> str | None:
        """A measured value, sent as a number or a string, as people read it; cut to fit."""
        value = self._value.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.bad(name, f"must be a number or a string, not {kind(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.bad(name, "must be a finite number")
        text = str(value).strip()
        return text[:LONGEST_VALUE] or None

    def readings(self, name: str) -> dict[str, str]:
        """A map of measured values (Grafana's ``values``), each as people read it."""
        value = self._value.get(name)
        if value is None:
            return {}
        nested = Fields(value, self.where(name), rules=self._rules)
        return {str(key): nested.reading(key) or "" for key in value}

    def severity(self, name: str) -> str | None:
        """A severity as the sender spells it, lower-cased so that routes compare alike."""
        found = self.optional_text(name, longest=LONGEST_SEVERITY)
        return found.lower() if found else None

    def labels(self, name: str) -> dict[str, str]:
        """A map of strings (Alertmanager's labels and annotations), empty when absent."""
        value = self._value.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.bad(name, f"must be an object of strings, not {kind(value)}")
        for key, item in value.items():
            if not isinstance(item, str):
                raise self.bad(f"{name}.{key}", f"must be a string, not {kind(item)}")
        return dict(value)

    def timestamp(self, name: str) -> datetime | None:
        """ISO 8601 (nanoseconds allowed), or GitLab's ``2016-08-12 15:26:29 UTC``; a time without
        a zone is UTC; Go's zero time means "unset"."""
        value = self.optional_text(name)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value.strip().removesuffix(" UTC"))
        except ValueError:
            raise self.bad(name, f"{value[:40]!r} is not a timestamp") from None
        if moment.year <= 1:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def epoch(self, name: str) -> datetime | None:
        """Seconds since 1970, as Buildbot sends its times."""
        seconds = self.number(name)
        if seconds is None:
            return None
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise self.bad(name, "is not a time in seconds since 1970") from None


def kind(value: object) -> str:
    """How a sender would name the JSON type it sent where another was due."""
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)
