"""Which interrupted deploy ``/deploy resume`` would continue, and whether that is safe.

A deploy can be continued only where it stopped between batches: each host either live and
healthy on the new release, or still on the release it ran before with the new one staged
beside it. A host caught in the middle of a step — flipped but never found healthy, asked
nothing, failed, reverted — leaves the choice to a person: a new ``/deploy`` or a rollback.
"""

from dataclasses import dataclass

from sqlmodel import Session, col, select

from core.config.file import AndonConfig
from core.deploy import records
from core.deploy.named import ChooseEnvironment
from core.deploy.state import DeployKind, DeployState, HostStep
from core.refusal import Refusal
from storage.tables import Deploy, DeployHost

# Deploys that never ran are not what an environment's hosts went through.
_NEVER_RAN = (DeployState.AWAITING_APPROVAL.value, DeployState.CANCELLED.value)


@dataclass(frozen=True)
class NothingToResume:
    """No deploy of the environment waits to be continued: said, and nothing changed."""

    environment: str | None
    reason: str

    @property
    def sentence(self) -> str:
        where = f" in {self.environment}" if self.environment else ""
        return f"Nothing to resume{where}: {self.reason}."


@dataclass(frozen=True)
class Interrupted:
    """The newest deploy of an environment, interrupted, with its hosts as recorded."""

    deploy: Deploy
    hosts: list[DeployHost]

    @property
    def done(self) -> list[DeployHost]:
        """Hosts live and healthy on the new release already."""
        return [host for host in self.hosts if host.step == HostStep.HEALTHY]


def newest(session: Session, environment: str) -> Deploy | None:
    """The newest deploy of the environment that ran (or runs)."""
    return session.exec(
        select(Deploy)
        .where(Deploy.environment == environment, col(Deploy.status).not_in(_NEVER_RAN))
        .order_by(col(Deploy.id).desc())
    ).first()


def find(
    session: Session, config: AndonConfig, environment: str | None
) -> Interrupted | NothingToResume | ChooseEnvironment | Refusal:
    """The interrupted deploy to continue: of the environment named, or of the only one that
    has one (asked which when several have)."""
    names = list(config.environments)
    if environment is not None and environment not in config.environments:
        return Refusal(f"{environment!r} is not an environment; there are: {', '.join(names)}.")
    if not names:
        return Refusal(
            "No environments are configured — add `[environments.<name>]` to andon.toml."
        )
    if environment is None and len(names) > 1:
        waiting = [name for name in names if _interrupted(newest(session, name))]
        if len(waiting) > 1:
            return ChooseEnvironment(DeployKind.DEPLOY, tuple(waiting), verb="resume")
        if not waiting:
            return NothingToResume(None, "no environment has an interrupted deploy")
        environment = waiting[0]
    name = environment or names[0]
    last = newest(session, name)
    if last is None or not _interrupted(last):
        return NothingToResume(name, _why_nothing(last))
    assert last.id is not None
    return Interrupted(last, records.hosts(session, last.id))


def _interrupted(deploy: Deploy | None) -> bool:
    return deploy is not None and deploy.status == DeployState.INTERRUPTED


def _why_nothing(last: Deploy | None) -> str:
    if last is None:
        return "no deploy has run there yet"
    what = f"its last {last.kind}, {last.id} of {last.revision[:7]},"
    if last.status == DeployState.SUCCEEDED:
        return f"{what} succeeded"
    if last.status == DeployState.FAILED:
        return f"{what} failed and put its hosts back — a failed deploy is not resumed"
    return f"{what} is still running (`/deploy status {last.environment}` shows it)"


def unsafe(found: Interrupted, config: AndonConfig) -> Refusal | None:
    """Why continuing would not be safe, in a sentence; ``None`` when it is."""
    deploy = found.deploy
    head = f"Deploy {deploy.id} of {deploy.revision[:7]} to {deploy.environment} cannot resume"
    restart = f"`/deploy {deploy.revision[:7]} {deploy.environment}` starts it over"
    if deploy.kind != DeployKind.DEPLOY:
        return Refusal(
            f"Rollback {deploy.id} was interrupted: a rollback is not resumed — "
            f"`/rollback {deploy.environment}` runs one again.",
            rule="resumable",
        )
    configured = [host.address for host in config.environments[deploy.environment].hosts]
    if configured != [host.address for host in found.hosts]:
        return Refusal(
            f"{head}: the hosts of {deploy.environment} changed since — {restart}.",
            rule="resumable",
        )
    problems = [problem for host in found.hosts if (problem := _host_problem(deploy, host))]
    if not problems:
        return None
    shown = "; ".join(problems[:5]) + (
        f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
    )
    return Refusal(
        f"{head} safely: it did not stop between batches — {shown}. {restart}, or "
        f"`/rollback {deploy.environment}` goes back.",
        rule="resumable",
    )


def _host_problem(deploy: Deploy, host: DeployHost) -> str | None:
    """What makes this host unsafe to continue from, or ``None``."""
    if host.step == HostStep.HEALTHY:
        return None
    if host.step != HostStep.STOPPED:
        return f"{host.address} {host.step}"
    if host.staged_at is None:
        return f"{host.address} was still being staged"
    if host.runs == deploy.revision:
        return f"{host.address} was mid-step: it runs the new release, its health never confirmed"
    if host.runs is None and host.previous_revision is not None:
        return f"{host.address} could not be asked what it runs ({host.error or 'no answer'})"
    if host.runs != host.previous_revision:
        return f"{host.address} runs {(host.runs or '')[:7]}, neither the old release nor the new"
    return None
