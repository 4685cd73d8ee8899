"""Deploys, each host's step, the releases on the hosts, the environments' locks and the
forges' deployments."""

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import moment


class Deploy(SQLModel, table=True):
    """One deploy or rollback of one environment: who asked, which revision, how it ended.

    A rollback is a deploy of kind ``rollback``; both share the record, the lock and the run.
    """

    __table_args__ = (
        Index("ix_deploy_environment_status", "environment", "status", "id"),
        Index("ix_deploy_finished_at", "finished_at"),
        # the digest's counts of shipped deploys read an index alone (0037)
        Index("ix_deploy_shipped", "finished_at", "kind", "status", "environment"),
        Index("ix_deploy_requested_at", "requested_at"),  # the first record: one step, not a scan
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # deploy | rollback
    environment: str = Field(max_length=64)
    revision: str = Field(max_length=40)
    status: str = Field(default="pending", max_length=32)  # "awaiting_approval" is 17
    requested_at: datetime = moment()
    requested_by: str = Field(max_length=255)
    requested_by_name: str = Field(max_length=255)
    via: str = Field(max_length=32)
    approved_by: str | None = Field(default=None, max_length=255)
    approved_by_name: str | None = Field(default=None, max_length=255)
    fix_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # ``override``: why the release was marked bad when this deploy shipped it anyway
    overrode: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    started_at: datetime | None = moment(nullable=True)
    finished_at: datetime | None = moment(nullable=True)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    migrated: bool = False  # before_activate commands ran: rolling back across it asks first
    message_id: int | None = Field(default=None, foreign_key="outbox_message.id")
    holder: str | None = Field(default=None, max_length=255)  # the process running it
    committed_at: datetime | None = moment(nullable=True)  # the revision's commit: lead time
    # ``/deploy resume``: the interrupted deploy this one continues, and who had it continue
    resumes: int | None = Field(default=None, foreign_key="deploy.id")
    resumed_by: str | None = Field(default=None, max_length=255)
    resumed_by_name: str | None = Field(default=None, max_length=255)
    resumed_via: str | None = Field(default=None, max_length=32)


class DeployHost(SQLModel, table=True):
    """One host's part in a deploy: where it was, how far it got, how long each step took."""

    __tablename__ = "deploy_host"

    id: int | None = Field(default=None, primary_key=True)
    deploy_id: int = Field(foreign_key="deploy.id", index=True)
    position: int
    address: str = Field(max_length=255)
    step: str = Field(default="waiting", max_length=16)
    previous_revision: str | None = Field(default=None, max_length=40)
    started_at: datetime | None = moment(nullable=True)
    staged_at: datetime | None = moment(nullable=True)
    activated_at: datetime | None = moment(nullable=True)
    finished_at: datetime | None = moment(nullable=True)
    files_sent: int = 0
    bytes_sent: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    runs: str | None = Field(default=None, max_length=40)  # found live after an interruption


class ForgeDeployment(SQLModel, table=True):
    """A deploy as a forge records it (a GitHub or GitLab deployment), and what it was last told.

    A mirror tells the forge each step of the deploy once: it claims the row with a short lease,
    as the courier claims an outbox row, and writes what the forge now shows before letting go.
    A forge that is down waits until ``next_attempt_at``; ``None`` there means nothing is left.
    """

    __tablename__ = "forge_deployment"
    __table_args__ = (
        UniqueConstraint("deploy_id", "forge", name="uq_forge_deployment"),
        Index("ix_forge_deployment_due", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    deploy_id: int = Field(foreign_key="deploy.id")
    forge: str = Field(max_length=16)  # github | gitlab
    project: str = Field(max_length=255)  # owner/name, or the GitLab project's path or id
    forge_id: str | None = Field(default=None, max_length=64)  # the forge's deployment id
    shown: str | None = Field(default=None, max_length=16)  # created | running | succeeded | …
    attempts: int = 0
    next_attempt_at: datetime | None = moment(nullable=True)
    claimed_until: datetime | None = moment(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=255)
    updated_at: datetime = moment()
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Release(SQLModel, table=True):
    """A revision as it lived on one environment: when it went live, and whether it is bad."""

    __table_args__ = (UniqueConstraint("environment", "revision", name="uq_release"),)

    id: int | None = Field(default=None, primary_key=True)
    environment: str = Field(max_length=64)
    revision: str = Field(max_length=40)
    live_at: datetime | None = moment(nullable=True)  # the latest time it went live, healthy
    healthy_since: datetime | None = moment(nullable=True)  # live without a break since
    left_at: datetime | None = moment(nullable=True)
    bad: bool = False
    bad_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class DeployLock(SQLModel, table=True):
    """One row per environment: the deploy that holds it, and until when its lease runs.

    A lease, not a flag: a process that dies stops renewing it, and the lock frees itself.
    """

    __tablename__ = "deploy_lock"

    environment: str = Field(primary_key=True, max_length=64)
    deploy_id: int | None = Field(default=None, foreign_key="deploy.id")
    holder: str | None = Field(default=None, max_length=255)
    expires_at: datetime | None = moment(nullable=True)
