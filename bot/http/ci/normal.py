"""The one form every CI's values are put in, so that a branch or a duration compares across CIs."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from bot.http.fields import Fields, kind
from core.ci.report import FULL_SHA, MAX_FAILED_TESTS_KEPT, BadReportError, FailedTest

LONGEST_PIPELINE = 100


def revision(fields: Fields, name: str) -> str:
    """A full commit sha, lower-cased: the key every result of a commit is filed under."""
    return full_sha(fields.text(name), fields.where(name))


def full_sha(value: object, where: str) -> str:
    """``value`` as a lower-cased 40-hex sha, or a BadReportError naming ``where``."""
    if not isinstance(value, str):
        raise BadReportError(where, f"must be a commit sha, not {kind(value)}")
    sha = value.strip().lower()
    if not FULL_SHA.fullmatch(sha):
        raise BadReportError(where, f"{sha[:60]!r} is not a 40-hex commit sha")
    return sha


def branch(ref: str | None) -> str | None:
    """``main`` whether the CI said ``main`` or ``refs/heads/main``."""
    if ref is None:
        return None
    name = ref.strip().removeprefix("refs/heads/")
    return name or None


def subject(message: str | None) -> str | None:
    """The first line of a commit message: what a person recognises the commit by."""
    if message is None:
        return None
    return next((line.strip() for line in message.splitlines() if line.strip()), None)


def elapsed(started: datetime | None, finished: datetime | None) -> timedelta | None:
    """How long a run took, when both ends are known and in order."""
    if started is None or finished is None or finished < started:
        return None
    return finished - started


def pipeline(name: str) -> str:
    """A CI's own name for its pipeline, clipped to what a report holds."""
    return name.strip()[:LONGEST_PIPELINE]


def kept(tests: Iterable[FailedTest]) -> tuple[FailedTest, ...]:
    """The first failed tests, once each: a test named by path (``tests/test_x.py::test_y``) in
    one list and by module (``tests.test_x::test_y``) in the JUnit report is one test, shown
    under the first name, with the first message either gave. Bounded for the channel."""
    seen: dict[str, FailedTest] = {}
    for test in tests:
        key = test.identity
        known = seen.get(key)
        if known is None:
            if len(seen) == MAX_FAILED_TESTS_KEPT:
                break
            seen[key] = test
        elif not known.message and test.message:
            seen[key] = FailedTest(name=known.name, message=test.message)
    return tuple(seen.values())
