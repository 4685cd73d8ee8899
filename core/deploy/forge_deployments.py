"""Deploys recorded on the forges: a GitHub or GitLab deployment beside every deploy and rollback.

The line's repository shows what runs where (its Environments page, its pull requests) when each
deploy is told there too. A mirror reads the deploys Andon recorded and tells each forge the steps
it has not seen yet (``core.deploy.forge_records``), in the order the deploys were made. Nothing
here is inside a deploy: a forge that is down never holds one up.

A crash between the forge's answer and the write of what it shows can repeat one step; losing one
is worse. A forge that does not answer is tried again after a growing wait; one that refuses the
request itself (it will never take it) is given up, with its reason kept beside the row.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from core.clock import Clock
from core.deploy.forge_records import (
    DeployFacts,
    Shown,
    Step,
    claim,
    due,
    given_up,
    postponed,
    take_on,
    told,
)
from storage.database import Database


class ForgeDeploymentError(Exception):
    """The forge did not take the step. ``lasting``: it refused the request itself and never
    will take it (a 422); otherwise it is down or busy, and the step is tried again later."""

    def __init__(self, message: str, *, lasting: bool = False) -> None:
        super().__init__(message)
        self.lasting = lasting


@dataclass(frozen=True)
class Created:
    """The forge's id of the new deployment, and the state it shows it in."""

    forge_id: str
    shown: Shown


class DeploymentsPort(Protocol):
    """A forge's deployments API, as ``core`` needs it."""

    marks_replaced: bool  # whether a replaced deployment must be told it is inactive (GitHub)

    def create(self, project: str, deploy: DeployFacts) -> Created:
        """Create the deployment; raise ``ForgeDeploymentError`` when the forge does not."""
        ...

    def mark(self, project: str, forge_id: str, state: Shown, deploy: DeployFacts) -> None:
        """Move the deployment to ``state``; raise ``ForgeDeploymentError`` when refused."""
        ...


@dataclass(frozen=True)
class Round:
    """One mirror round: how many steps the forges took and how many they did not."""

    told: int
    failed: int
    errors: tuple[str, ...] = field(default=(), compare=False)  # what the forges said, for logs


def mirror_due(
    database: Database,
    *,
    clock: Clock,
    forges: Mapping[str, DeploymentsPort],
    projects: Mapping[str, str],
    holder: str,
) -> Round:
    """Take on new deploys, then tell every forge each due step until none is left; a forge's
    refusal never holds up the others. The forges are called outside any transaction."""
    with database.writing() as session:
        take_on(session, clock=clock, projects={f: p for f, p in projects.items() if f in forges})
    marks = {forge: port.marks_replaced for forge, port in forges.items()}
    done, errors, progress = 0, [], True
    while progress:
        progress = False
        with database.reading() as session:
            steps = due(session, clock=clock, marks_replaced=marks)
        for step in steps:
            taken, error = _tell(
                database, clock=clock, step=step, port=forges[step.forge], holder=holder
            )
            if error is not None:
                errors.append(error)
            if taken:
                done, progress = done + 1, True
    return Round(done, len(errors), tuple(errors))


def _tell(
    database: Database, *, clock: Clock, step: Step, port: DeploymentsPort, holder: str
) -> tuple[bool, str | None]:
    """One step to one forge, if this mirror wins the claim: whether the forge took it, and
    what went wrong when it did not."""
    with database.writing() as session:
        if not claim(session, clock=clock, step=step, holder=holder):
            return False, None
    forge_id = None
    try:
        if step.to == "created":
            created = port.create(step.project, step.deploy)
            forge_id, shown = created.forge_id, created.shown
        else:
            assert step.forge_id is not None
            port.mark(step.project, step.forge_id, step.to, step.deploy)
            shown = step.to
    except ForgeDeploymentError as refused:
        reason = str(refused) or type(refused).__name__
        with database.writing() as session:
            if refused.lasting:
                given_up(session, clock=clock, step=step, holder=holder, reason=reason)
                then = "given up"
            else:
                wait = postponed(session, clock=clock, step=step, holder=holder, reason=reason)
                then = f"tried again in {wait.total_seconds():g} s"
        what = f"{step.forge} {step.project} deploy #{step.deploy.id} {step.to}"
        return False, f"{what}: {reason} ({then})"
    with database.writing() as session:
        told(
            session,
            clock=clock,
            step=step,
            holder=holder,
            shown=shown,
            marks_replaced=port.marks_replaced,
            forge_id=forge_id,
        )
    return True, None
