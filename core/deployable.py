"""May this revision deploy? One answer built from named checks, each able to say why not."""

from collections.abc import Callable

from sqlmodel import Session

from core import words
from core.ci.verdict import verdict
from core.clock import Clock
from core.config import AndonConfig, CiConfig
from core.line import LineState, peek
from core.refusal import Refusal

Check = Callable[[Session, AndonConfig, Clock, str], Refusal | None]


def line_runs(session: Session, config: AndonConfig, clock: Clock, revision: str) -> Refusal | None:
    status = peek(session, clock=clock)
    if status.state == LineState.RUNNING or status.stoppage is None:
        return None
    stoppage = status.stoppage
    return Refusal(
        f"Line is stopped since {words.at(status.since, now=status.now)} by "
        f"@{stoppage.opened_by.name}: {stoppage.reason} — deploys are paused until `/line start`."
    )


def revision_green(
    session: Session, config: AndonConfig, clock: Clock, revision: str
) -> Refusal | None:
    required = (config.ci or CiConfig()).required
    found = verdict(session, revision=revision, required=list(required))
    return None if found.green else Refusal(found.why_not())


CHECKS: tuple[Check, ...] = (line_runs, revision_green)


def may_deploy(
    session: Session, *, config: AndonConfig, clock: Clock, revision: str
) -> Refusal | None:
    """Every deploy path asks this: ``None`` means yes, a ``Refusal`` says why not."""
    for check in CHECKS:
        refusal = check(session, config, clock, revision)
        if refusal is not None:
            return refusal
    return None
