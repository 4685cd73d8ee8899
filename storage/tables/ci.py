"""CI results, the built-in runner's queue, and the review heads that carry the line's status."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import moment


class CiResult(SQLModel, table=True):
    """One pipeline's result for one revision, as a CI reported it."""

    __tablename__ = "ci_result"
    __table_args__ = (
        UniqueConstraint("revision", "pipeline", "run_id", "status", name="uq_ci_result"),
        Index("ix_ci_result_revision_pipeline", "revision", "pipeline", "id"),
        Index("ix_ci_result_branch_pipeline", "branch", "pipeline", "id"),
        # the digest's CI week is read from the index alone (0037)
        Index("ix_ci_result_received_at", "received_at", "status", "pipeline", "duration_s"),
    )

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = moment()
    provider: str = Field(max_length=32)
    revision: str = Field(max_length=40)
    branch: str | None = Field(default=None, max_length=255)
    pipeline: str = Field(max_length=100)
    label: str | None = Field(default=None, max_length=255)  # the CI's name for this run
    run_id: str = Field(default="", max_length=255)
    status: str = Field(max_length=16)
    url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    duration_s: float | None = None
    author_name: str | None = Field(default=None, max_length=255)
    author_email: str | None = Field(default=None, max_length=255)
    subject: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    failed_tests: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )


class CiJob(SQLModel, table=True):
    """A revision waiting for (or being run by) the built-in local CI runner."""

    __tablename__ = "ci_job"
    __table_args__ = (Index("ix_ci_job_status", "status", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    revision: str = Field(max_length=40)
    branch: str | None = Field(default=None, max_length=255)
    status: str = Field(default="queued", max_length=16)  # queued | running | done
    queued_at: datetime = moment()
    started_at: datetime | None = moment(nullable=True)
    finished_at: datetime | None = moment(nullable=True)
    claimed_until: datetime | None = moment(nullable=True)


class ReviewHead(SQLModel, table=True):
    """The head commit of an open pull or merge request, and the line state last published on it.

    A reconcile loop publishes ``andon/line`` wherever ``published`` differs from the line's state:
    a crash or a forge outage only delays a status, it never loses one. A replica claims the head
    (``claimed_until``, ``claimed_by``) before it publishes, so N replicas publish it once.
    """

    __tablename__ = "review_head"
    __table_args__ = (UniqueConstraint("forge", "project", "number", name="uq_review_head"),)

    id: int | None = Field(default=None, primary_key=True)
    forge: str = Field(max_length=16)  # github | gitlab
    project: str = Field(max_length=255)  # owner/repo, or the GitLab project id
    number: int
    head_sha: str = Field(max_length=40)
    open: bool = True
    published: str | None = Field(default=None, max_length=16)  # success | failure | None
    published_sha: str | None = Field(default=None, max_length=40)
    claimed_until: datetime | None = moment(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=255)  # the publishing process
    updated_at: datetime = moment()
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
