"""``GET /api/deploys``: deploys and rollbacks, with every host's part in each."""

from pydantic import BaseModel, Field

from bot.http.schemas.people import Person
from bot.http.schemas.times import Moment
from core.deploy.records import DeployView, HostView
from core.deploy.state import DeployKind, DeployState, HostStep


class DeployHost(BaseModel):
    """One host's part in a deploy: how far it got, how long it took, what it was sent."""

    address: str
    step: HostStep
    previous_revision: str | None = Field(description="what the host ran before")
    started_at: Moment | None
    finished_at: Moment | None
    duration_s: float | None
    files_sent: int
    bytes_sent: int
    error: str | None
    runs: str | None = Field(description="what it was found running after an interruption")

    @classmethod
    def of(cls, host: HostView) -> "DeployHost":
        """The API's host for a recorded one."""
        return cls(
            address=host.address,
            step=host.step,
            previous_revision=host.previous_revision,
            started_at=host.started_at,
            finished_at=host.finished_at,
            duration_s=host.took.total_seconds() if host.took else None,
            files_sent=host.files_sent,
            bytes_sent=host.bytes_sent,
            error=host.error,
            runs=host.runs,
        )


class Deploy(BaseModel):
    """A deploy or rollback of one environment: who asked, which revision, how it ended."""

    id: int
    kind: DeployKind
    revision: str
    environment: str
    status: DeployState
    requested_by: Person
    requested_at: Moment
    approved_by: Person | None
    fix_reason: str | None = Field(description="why it ships while the line is stopped")
    started_at: Moment | None
    finished_at: Moment | None
    duration_s: float | None
    error: str | None
    migrated: bool = Field(description="its migrations ran: rolling back across it asks first")
    hosts: list[DeployHost]
    resumes: int | None = Field(
        default=None, description="the interrupted deploy this one continues (`/deploy resume`)"
    )
    resumed_by: Person | None = None

    @classmethod
    def of(cls, item: DeployView) -> "Deploy":
        """The API's deploy for a recorded one."""
        return cls(
            id=item.id,
            kind=item.kind,
            revision=item.revision,
            environment=item.environment,
            status=item.status,
            requested_by=Person.of(item.requested_by),
            requested_at=item.requested_at,
            approved_by=Person.maybe(item.approved_by),
            fix_reason=item.fix_reason,
            started_at=item.started_at,
            finished_at=item.finished_at,
            duration_s=item.duration.total_seconds() if item.duration else None,
            error=item.error,
            migrated=item.migrated,
            hosts=[DeployHost.of(host) for host in item.hosts],
            resumes=item.resumes,
            resumed_by=Person.maybe(item.resumed_by),
        )


class Deploys(BaseModel):
    """Deploys and rollbacks, newest first."""

    deploys: list[Deploy]
