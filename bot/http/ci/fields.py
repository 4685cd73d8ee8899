"""A CI's JSON read field by field, so that a wrong field is named in the 422 the sender sees."""

import math
from datetime import UTC, datetime, timedelta

from core.ci.report import FULL_SHA, BadReportError

MAX_TEXT = 255  # the longest branch, run id or author the results table holds
SECOND = timedelta(seconds=1)


class Fields:
    """One JSON object of a payload, and its path in the body (``object_attributes.sha``)."""

    def __init__(self, value: object, path: str = "") -> None:
        if not isinstance(value, dict):
            raise BadReportError(path or "body", "must be a JSON object")
        self._value = value
        self._path = path

    def where(self, name: str) -> str:
        """The dotted path of ``name``, as the sender's documentation spells it."""
        return f"{self._path}.{name}" if self._path else name

    def raw(self, name: str) -> object:
        """The value as sent, for the few fields whose type the caller checks itself."""
        return self._value.get(name)

    def child(self, name: str) -> "Fields | None":
        """A nested object, or None when it is absent or null."""
        value = self._value.get(name)
        return None if value is None else Fields(value, self.where(name))

    def required_child(self, name: str) -> "Fields":
        """A nested object the result cannot be read without."""
        found = self.child(name)
        if found is None:
            raise BadReportError(self.where(name), "is missing")
        return found

    def items(self, name: str) -> list[object]:
        """A list, empty when absent or null."""
        value = self._value.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise BadReportError(self.where(name), f"must be a list, not {_kind(value)}")
        return value

    def text(self, name: str, *, longest: int | None = None) -> str:
        """A string the result cannot be read without."""
        found = self.optional_text(name, longest=longest)
        if found is None:
            raise BadReportError(
                self.where(name), "is blank" if isinstance(self.raw(name), str) else "is missing"
            )
        return found

    def optional_text(self, name: str, *, longest: int | None = None) -> str | None:
        """A string, or None when absent, null or blank."""
        value = self._value.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise BadReportError(self.where(name), f"must be a string, not {_kind(value)}")
        if longest is not None and len(value) > longest:
            raise BadReportError(self.where(name), f"is longer than {longest} characters")
        return value if value.strip() else None

    def identifier(self, name: str) -> str:
        """An id the result cannot be told apart without (a run's number, a build's id)."""
        found = self.optional_identifier(name)
        if found is None:
            raise BadReportError(self.where(name), "is missing")
        return found

    def optional_identifier(self, name: str) -> str | None:
        """An id CIs send as a number or as a string, as a string."""
        value = self._value.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if value is not None and not isinstance(value, str):
            raise BadReportError(
                self.where(name), f"must be a string or a number, not {_kind(value)}"
            )
        return self.optional_text(name, longest=MAX_TEXT)

    def number(self, name: str) -> float | None:
        """A finite, non-negative count (seconds, milliseconds), or None when absent."""
        value = self._value.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadReportError(self.where(name), f"must be a number, not {_kind(value)}")
        if not math.isfinite(value) or value < 0:
            raise BadReportError(self.where(name), "must be a finite number, not negative")
        return float(value)

    def duration(self, name: str, *, unit: timedelta = SECOND) -> timedelta | None:
        """A number of ``unit``s as a duration, or None when absent."""
        count = self.number(name)
        if count is None:
            return None
        try:
            return unit * count
        except OverflowError as bad:
            raise BadReportError(self.where(name), "is too long to be a duration") from bad

    def revision(self, name: str) -> str:
        """A full commit sha, lower-cased: the key every result of a commit is filed under."""
        return full_sha(self.text(name), self.where(name))

    def timestamp(self, name: str) -> datetime | None:
        """ISO 8601, or GitLab's ``2016-08-12 15:26:29 UTC``; a time without a zone is UTC."""
        value = self.optional_text(name)
        if value is None:
            return None
        text = value.strip().removesuffix(" UTC")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as bad:
            raise BadReportError(self.where(name), f"{value[:40]!r} is not a timestamp") from bad
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def epoch(self, name: str) -> datetime | None:
        """Seconds since 1970, as Buildbot sends its times."""
        seconds = self.number(name)
        if seconds is None:
            return None
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError) as bad:
            raise BadReportError(self.where(name), "is not a time in seconds since 1970") from bad


def full_sha(value: object, where: str) -> str:
    """``value`` as a lower-cased 40-hex sha, or a BadReportError naming ``where``."""
    if not isinstance(value, str):
        raise BadReportError(where, f"must be a commit sha, not {_kind(value)}")
    sha = value.strip().lower()
    if not FULL_SHA.fullmatch(sha):
        raise BadReportError(where, f"{sha[:60]!r} is not a 40-hex commit sha")
    return sha


def _kind(value: object) -> str:
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)
