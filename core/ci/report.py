"""What a CI said about one revision, whichever CI said it."""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
MAX_FAILED_TESTS_KEPT = 200


class BuildStatus(StrEnum):
    """``canceled``: the run ended without a verdict (canceled, aborted, skipped) — neither green
    nor red, and no longer running."""

    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    CANCELED = "canceled"


@dataclass(frozen=True)
class FailedTest:
    """``name`` is ``classname::name`` (JUnit) or the CI's own test id."""

    name: str
    message: str = ""

    @property
    def identity(self) -> str:
        return test_identity(self.name)


def test_identity(name: str) -> str:
    """``tests/test_x.py::T::test_y[a/b]``, ``tests.test_x::T::test_y[a/b]`` and
    ``tests.test_x.T.test_y[a/b]`` are one test: CIs name it by path or by dotted module, with
    ``::`` or ``.``, and a red build must count it once."""
    head, bracket, params = name.strip().partition("[")
    parts = [part for part in head.replace("::", "/").replace("\\", "/").split("/") if part]
    dotted = ".".join(part.removesuffix(".py") for part in parts)
    return dotted + bracket + params


class BadReportError(ValueError):
    """A payload that cannot be a build result; ``field`` names what is wrong (for a 422)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class BuildReport:
    """One result of one pipeline for one revision; a redelivery carries the same identity."""

    provider: str
    revision: str
    branch: str | None
    status: BuildStatus
    pipeline: str = "ci"
    run_id: str = ""
    url: str | None = None
    duration: timedelta | None = None
    failed_tests: tuple[FailedTest, ...] = field(default=())
    author_name: str | None = None
    author_email: str | None = None
    subject: str | None = None
    finished_at: datetime | None = None
    label: str | None = None  # the CI's own name for this run, shown beside the pipeline
    infrastructure: bool = False  # failed for the CI's own reasons, not the commit's

    def __post_init__(self) -> None:
        if not FULL_SHA.fullmatch(self.revision):
            raise BadReportError("revision", f"{self.revision[:60]!r} is not a 40-hex commit sha")
        if not self.pipeline.strip() or len(self.pipeline) > 100:
            raise BadReportError("pipeline", "must be 1 to 100 characters")
        for name in ("branch", "run_id", "author_name", "author_email", "label"):
            value = getattr(self, name)
            if value is not None and len(value) > 255:
                raise BadReportError(name, "must be at most 255 characters")

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """revision + pipeline + run id + status: the same result delivered twice is one."""
        return (self.revision, self.pipeline, self.run_id, self.status.value)

    @property
    def short(self) -> str:
        return self.revision[:7]


@dataclass(frozen=True)
class Ignored:
    """A delivery that is not a build result Andon acts on (another event, a queued build)."""

    why: str
