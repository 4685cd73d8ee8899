"""What a build's commit says when its sender did not say it: read from the repository."""

from dataclasses import dataclass, replace
from typing import Protocol

from core.ci.report import BuildReport, BuildStatus

LONGEST = 255  # a report keeps at most this much of an author's name or e-mail


@dataclass(frozen=True)
class Commit:
    subject: str
    author_name: str
    author_email: str


class Commits(Protocol):
    """The repository of ``[repo] path``, as ``core`` needs it; ``bot`` reads it with git."""

    def about(self, revision: str) -> Commit | None:
        """A full sha's subject and author; ``None`` when the repository does not have it or
        cannot say in time. Never raises: a build result must not be lost for a subject."""
        ...


def completed(report: BuildReport, *, commits: Commits | None) -> BuildReport:
    """A sender without a subject or an author (many CIs send neither) still names the commit:
    the repository says what the sender did not. A running build is not shown, so not read."""
    has_author = bool(report.author_name or report.author_email)
    if commits is None or report.status == BuildStatus.RUNNING:
        return report
    if report.subject and has_author:
        return report
    found = commits.about(report.revision)
    if found is None:
        return report
    return replace(
        report,
        subject=report.subject or found.subject or None,
        author_name=report.author_name if has_author else found.author_name[:LONGEST] or None,
        author_email=report.author_email if has_author else found.author_email[:LONGEST] or None,
    )
