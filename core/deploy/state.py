"""The life of a deploy and of each host in it, as tables of allowed moves (Shipit's task states).

An illegal move raises: it is a bug in Andon, never a person's mistake.
"""

from enum import StrEnum

from core.lifecycle import IllegalMoveError
from storage.tables import Deploy, DeployHost


class DeployKind(StrEnum):
    """What a run does to the hosts; chosen when the request is recorded and never changed."""

    DEPLOY = "deploy"  # a new release: staged everywhere, then live batch by batch
    ROLLBACK = "rollback"  # back to a release the hosts still hold, every host at once


class DeployState(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in _FINISHED


class HostStep(StrEnum):
    WAITING = "waiting"
    STAGING = "staging"
    STAGED = "staged"
    ACTIVATING = "activating"
    ACTIVE = "active"  # current points at the release; health not (yet) confirmed
    HEALTHY = "healthy"
    FAILED = "failed"
    REVERTED = "reverted"
    STOPPED = "stopped"  # Andon died while this host was in the middle: ``runs`` says where


_FINISHED = {
    DeployState.SUCCEEDED,
    DeployState.FAILED,
    DeployState.INTERRUPTED,
    DeployState.CANCELLED,
}

_DEPLOY_MOVES: dict[DeployState, set[DeployState]] = {
    DeployState.AWAITING_APPROVAL: {DeployState.PENDING, DeployState.CANCELLED},
    DeployState.PENDING: {
        DeployState.RUNNING,
        DeployState.FAILED,
        DeployState.INTERRUPTED,
        DeployState.AWAITING_APPROVAL,  # approved, but another deploy holds the lock: it waits
    },
    DeployState.RUNNING: {DeployState.SUCCEEDED, DeployState.FAILED, DeployState.INTERRUPTED},
    DeployState.SUCCEEDED: set(),
    DeployState.FAILED: set(),
    DeployState.INTERRUPTED: set(),
    DeployState.CANCELLED: set(),
}

_HOST_MOVES: dict[HostStep, set[HostStep]] = {
    HostStep.WAITING: {HostStep.STAGING, HostStep.ACTIVATING, HostStep.FAILED, HostStep.STOPPED},
    HostStep.STAGING: {HostStep.STAGED, HostStep.FAILED, HostStep.STOPPED},
    HostStep.STAGED: {HostStep.ACTIVATING, HostStep.FAILED, HostStep.STOPPED},
    HostStep.ACTIVATING: {HostStep.ACTIVE, HostStep.FAILED, HostStep.REVERTED, HostStep.STOPPED},
    HostStep.ACTIVE: {HostStep.HEALTHY, HostStep.FAILED, HostStep.REVERTED, HostStep.STOPPED},
    HostStep.HEALTHY: {HostStep.REVERTED},
    HostStep.FAILED: {HostStep.REVERTED},
    HostStep.REVERTED: set(),
    HostStep.STOPPED: set(),
}

UNSETTLED = frozenset(step for step, moves in _HOST_MOVES.items() if HostStep.STOPPED in moves)


def move(deploy: Deploy, to: DeployState) -> None:
    current = DeployState(deploy.status)
    if to not in _DEPLOY_MOVES[current]:
        raise IllegalMoveError(f"deploy #{deploy.id}: {current} → {to} is not allowed")
    deploy.status = to.value


def step(host: DeployHost, to: HostStep) -> None:
    current = HostStep(host.step)
    if to not in _HOST_MOVES[current]:
        raise IllegalMoveError(f"{host.address} in deploy #{host.deploy_id}: {current} → {to}")
    host.step = to.value
