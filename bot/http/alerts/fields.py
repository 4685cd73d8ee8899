"""An alert's JSON read field by field, so that a wrong field is named in the 422 the sender sees.

Alert bodies are looser than build results: a label map, a value sent as a number or a string, Go's
zero time for "not yet". What people read (summaries, values) is cut to fit rather than refused.
"""

import math
from datetime import UTC, datetime

from core.alerts.event import BadAlertError

LONGEST_KEY = 255  # an alert's identity is ``source:key`` in a 300-character column
LONGEST_NAME = 255
LONGEST_SEVERITY = 32
LONGEST_VALUE = 255


class Fields:
    """One JSON object of a payload, and its path in the body (``alerts[0].labels``)."""

    def __init__(self, value: object, path: str = "") -> None:
        if not isinstance(value, dict):
            raise BadAlertError(f"{path or 'the body'} must be a JSON object", field=path or "body")
        self._value = value
        self._path = path

    def where(self, name: str) -> str:
        """The dotted path of ``name``, as the sender's documentation spells it."""
        return f"{self._path}.{name}" if self._path else name

    def bad(self, name: str, problem: str) -> BadAlertError:
        return BadAlertError(f"{self.where(name)} {problem}", field=self.where(name))

    def raw(self, name: str) -> object:
        """The value as sent, for the few fields whose type the caller checks itself."""
        return self._value.get(name)

    def child(self, name: str) -> "Fields | None":
        """A nested object, or None when it is absent or null."""
        value = self._value.get(name)
        return None if value is None else Fields(value, self.where(name))

    def items(self, name: str) -> list[object]:
        """A list, empty when absent or null."""
        value = self._value.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.bad(name, f"must be a list, not {kind(value)}")
        return value

    def required_items(self, name: str) -> list[object]:
        """A list the alerts cannot be read without (it may be empty)."""
        if self._value.get(name) is None:
            raise self.bad(name, "is missing")
        return self.items(name)

    def text(self, name: str, *, longest: int | None = None) -> str:
        """A string the alert cannot be read without."""
        found = self.optional_text(name, longest=longest)
        if found is None:
            raise self.bad(name, "is blank" if isinstance(self.raw(name), str) else "is missing")
        return found

    def optional_text(self, name: str, *, longest: int | None = None) -> str | None:
        """A string, stripped, or None when absent, null or blank."""
        value = self._value.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.bad(name, f"must be a string, not {kind(value)}")
        if longest is not None and len(value.strip()) > longest:
            raise self.bad(name, f"is longer than {longest} characters")
        return value.strip() or None

    def optional_identifier(self, name: str) -> str | None:
        """An id senders send as a number or as a string, as a string."""
        value = self._value.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.optional_text(name, longest=LONGEST_KEY)

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
        nested = Fields(value, self.where(name))
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
        """RFC 3339 (nanoseconds allowed; no zone is UTC); Go's zero time means "unset"."""
        value = self.optional_text(name)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise self.bad(name, f"{value[:40]!r} is not a timestamp") from None
        if moment.year <= 1:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def kind(value: object) -> str:
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)
