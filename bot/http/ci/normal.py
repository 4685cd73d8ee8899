"""The one form every CI's values are put in, so that a branch or a duration compares across CIs."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from core.ci.report import MAX_FAILED_TESTS_KEPT, FailedTest

LONGEST_PIPELINE = 100


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
