"""What CI results make Andon say: in the channel, to the author, in the stoppage's thread."""

from dataclasses import dataclass
from datetime import timedelta

from core.ci.report import BuildReport
from core.notifier import Notice


@dataclass(frozen=True)
class TestFailure:
    name: str
    message: str
    new: bool  # failed here, passed in the pipeline's previous run


@dataclass(frozen=True)
class BuildFailed(Notice):
    """A red build on the line's branch, told in the channel."""

    report: BuildReport
    failures: tuple[TestFailure, ...]
    budget: timedelta | None  # set when the run took longer than the budget
    stops_line: bool
    author_user: str | None = None  # the author's chat user, when [people] or the chat knows them


@dataclass(frozen=True)
class BranchBuildFailed(Notice):
    """A red build on another branch, told to its author alone."""

    report: BuildReport
    failures: tuple[TestFailure, ...]


@dataclass(frozen=True)
class BuildFixed(Notice):
    """The build that turns the line's branch green again, told in the stoppage's thread."""

    report: BuildReport
