"""Recording a CI result: stored once, announced once, and a red line's branch stops the line."""

from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlmodel import Session, col, select

from core import audit, line
from core.actor import Actor
from core.audit import Outcome
from core.ci.notices import BranchBuildFailed, BuildFailed, BuildFixed, TestFailure
from core.ci.report import BuildReport, BuildStatus, test_identity
from core.clock import Clock
from core.config.file import AndonConfig, CiConfig
from core.notifier import MessageRef, Notifier
from core.people import Directory, chat_user
from storage.database import Writes, inserted
from storage.tables import CiResult, Stoppage

ACTION = "ci.result"  # the audit log's name for a build result
IDENTITY = ("revision", "pipeline", "run_id", "status")  # a result's unique key (uq_ci_result)


@dataclass(frozen=True)
class Recorded:
    result_id: int
    stopped_line: bool


@dataclass(frozen=True)
class Duplicate:
    """The same result delivered again: nothing changes, nothing is said twice."""


def author_of(
    report: BuildReport, *, config: AndonConfig, directory: Directory | None
) -> str | None:
    """The chat user a red build names or tells, found before ``record``'s transaction opens:
    a directory may be slow, and a database lock must not wait on it. A green build names
    nobody, so nobody is looked up."""
    if report.status != BuildStatus.FAILED:
        return None
    return chat_user(report.author_email, people=config.people, directory=directory)


def record(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    config: AndonConfig,
    report: BuildReport,
    author: str | None,
) -> Recorded | Duplicate:
    """Store the result, then let the line react: announce, stop, tell the author, or say fixed.

    ``author`` is the commit author's chat user (see ``author_of``), or ``None`` when unknown."""
    ci = config.ci or CiConfig()
    on_line = report.branch == config.line_branch
    previous = _previous_completed(session, report) if reacted_to(report, config=config) else None
    stored = store(session, clock=clock, report=report)
    if isinstance(stored, Duplicate):
        return stored
    stopped = False
    if report.status == BuildStatus.FAILED:
        failures = _failures(report, previous)
        if on_line:
            stopped = _red_on_the_line(
                session,
                notifier=notifier,
                clock=clock,
                ci=ci,
                report=report,
                failures=failures,
                author=author,
            )
        elif author is not None:
            notifier.dm(author, BranchBuildFailed(report, failures))
    elif report.status == BuildStatus.PASSED and on_line and _was_red(previous):
        _say_fixed(session, notifier=notifier, clock=clock, report=report)
    return Recorded(stored.result_id, stopped)


def reacted_to(report: BuildReport, *, config: AndonConfig) -> bool:
    """Whether the line may react to the result: a red one is announced (and may stop it), a
    green one on the line's branch may say "fixed"; both compare it with the last finished run.
    Any other is only stored (``store``) — the steady stream of a busy CI."""
    return report.status == BuildStatus.FAILED or (
        report.status == BuildStatus.PASSED and report.branch == config.line_branch
    )


def store(rows: Writes, *, clock: Clock, report: BuildReport) -> Recorded | Duplicate:
    """The result and its audit row, in the caller's transaction; a result the line does not
    react to (``reacted_to``) needs nothing more, so its unit of work may be rows alone."""
    result_id = _insert(rows, clock=clock, report=report)
    if result_id is None:
        return Duplicate()
    detail = f"{report.pipeline} {report.status} {report.short} ({report.branch or 'no branch'})"
    audit.record(
        rows, clock=clock, actor=ci_actor(report), action=ACTION, outcome=Outcome.OK, detail=detail
    )
    return Recorded(result_id, stopped_line=False)


def ci_actor(report: BuildReport) -> Actor:
    """CI acts on the line like a person does, and is named like one in the audit log."""
    return Actor(id=f"ci:{report.provider}", name=f"{report.pipeline} CI", via="ci")


def _red_on_the_line(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    ci: CiConfig,
    report: BuildReport,
    failures: tuple[TestFailure, ...],
    author: str | None,
) -> bool:
    over = ci.budget if ci.budget and report.duration and report.duration > ci.budget else None
    stops = ci.stop_line_on_failure and (ci.infra_failures_stop_line or not report.infrastructure)
    notifier.post(BuildFailed(report, failures, over, stops, author))
    if not stops:
        return False
    line.stop(
        session,
        notifier=notifier,
        clock=clock,
        actor=ci_actor(report),
        reason=f"CI failed on {report.short}",
    )
    return True


def _say_fixed(session: Session, *, notifier: Notifier, clock: Clock, report: BuildReport) -> None:
    """A short word in the open stoppage's thread; restarting the line stays a human decision."""
    stoppage_id = line.current(session).stoppage_id
    if stoppage_id is None:
        return
    stoppage = session.get(Stoppage, stoppage_id)
    if stoppage is not None and stoppage.thread_id is not None:
        notifier.reply(MessageRef(stoppage.thread_id), BuildFixed(report))


def _insert(rows: Writes, *, clock: Clock, report: BuildReport) -> int | None:
    """The new row's id; None when the result's identity is stored already. One statement: the
    unique identity makes a redelivery, even a concurrent one, insert nothing here."""
    values = {
        "provider": report.provider,
        "revision": report.revision,
        "branch": report.branch,
        "pipeline": report.pipeline,
        "label": report.label,
        "run_id": report.run_id,
        "status": report.status.value,
        "url": report.url,
        "duration_s": report.duration.total_seconds() if report.duration else None,
        "author_name": report.author_name,
        "author_email": report.author_email,
        "subject": report.subject,
        "failed_tests": [{"name": t.name, "message": t.message} for t in report.failed_tests],
        "received_at": clock.now(),
    }
    return inserted(rows, CiResult, values, unless=IDENTITY)


class Previous(NamedTuple):
    """What a new result is compared with: the last finished run's status and failing tests."""

    status: str
    failed_tests: list[dict[str, Any]]


def _previous_completed(session: Session, report: BuildReport) -> Previous | None:
    """The pipeline's last finished run on the same branch: what "new" and "fixed" compare with.
    Read only for a red result, or a green one on the line's branch: no other result uses it."""
    query = (
        select(CiResult.status, CiResult.failed_tests)
        .where(
            CiResult.pipeline == report.pipeline,
            CiResult.branch == report.branch,
            col(CiResult.status).in_([BuildStatus.PASSED.value, BuildStatus.FAILED.value]),
        )
        .order_by(col(CiResult.id).desc())
        .limit(1)
    )
    row = session.exec(query).first()
    return None if row is None else Previous(*row)


def _failures(report: BuildReport, previous: Previous | None) -> tuple[TestFailure, ...]:
    failed_before = {test_identity(t["name"]) for t in previous.failed_tests} if previous else set()
    return tuple(
        TestFailure(t.name, t.message, new=previous is not None and t.identity not in failed_before)
        for t in report.failed_tests
    )


def _was_red(previous: Previous | None) -> bool:
    return previous is not None and previous.status == BuildStatus.FAILED.value
