"""What deploys announce; the fronts decide how it looks."""

from dataclasses import dataclass

from core.deploy.records import DeployView
from core.notifier import Notice


@dataclass(frozen=True)
class DeployProgress(Notice):
    """The one channel message of a deploy, posted once and updated in place as hosts move."""

    deploy: DeployView


@dataclass(frozen=True)
class FixShipping(Notice):
    """In the stoppage's thread: a fix is deployed while the line is stopped."""

    deploy: DeployView


@dataclass(frozen=True)
class ApprovalNeeded(Notice):
    """``require_approval``: the request waits for someone else with deploy access."""

    deploy: DeployView
