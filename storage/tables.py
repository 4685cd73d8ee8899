"""The tables. One module, because the whole schema is small enough to read at once."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _when(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Line(SQLModel, table=True):
    """The production line: one row. Its lock serialises every stop and start."""

    id: int = Field(default=1, primary_key=True)
    state: str = Field(default="running", max_length=16)
    since: datetime = _when()
    stoppage_id: int | None = Field(default=None, foreign_key="stoppage.id")


class Stoppage(SQLModel, table=True):
    """One halt of the line, from the first pull of the cord to the restart."""

    id: int | None = Field(default=None, primary_key=True)
    state: str = Field(default="open", max_length=16)
    opened_at: datetime = _when(index=True)
    opened_by: str = Field(max_length=255)
    opened_by_name: str = Field(max_length=255)
    opened_via: str = Field(max_length=32)
    closed_at: datetime | None = _when(nullable=True)
    closed_by: str | None = Field(default=None, max_length=255)
    closed_by_name: str | None = Field(default=None, max_length=255)
    closed_via: str | None = Field(default=None, max_length=32)
    announcement_id: int | None = Field(default=None, foreign_key="outbox_message.id")
    thread_id: int | None = Field(default=None, foreign_key="outbox_message.id")


class StoppageCause(SQLModel, table=True):
    """Why the line was stopped; a stopped line pulled again gains a cause, not a stoppage."""

    __tablename__ = "stoppage_cause"

    id: int | None = Field(default=None, primary_key=True)
    stoppage_id: int = Field(foreign_key="stoppage.id", index=True)
    at: datetime = _when()
    actor: str = Field(max_length=255)
    actor_name: str = Field(max_length=255)
    via: str = Field(max_length=32)
    text: str = Field(sa_column=Column(Text, nullable=False))


class AuditEntry(SQLModel, table=True):
    """Append-only: every command and webhook — who, what, when, from where, how it ended."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _when(index=True)
    actor: str = Field(max_length=255)
    actor_name: str = Field(max_length=255)
    via: str = Field(max_length=32)
    action: str = Field(max_length=64)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    outcome: str = Field(max_length=16)
    message: str = Field(default="", sa_column=Column(Text, nullable=False))


class OutboxMessage(SQLModel, table=True):
    """A chat message on its way out; sent in order per lane, retried until the chat answers."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_pending_lane", "status", "lane", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = _when()
    kind: str = Field(max_length=16)
    lane: str = Field(max_length=255)
    target: str = Field(max_length=255)
    parent_id: int | None = Field(default=None, foreign_key="outbox_message.id")
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = _when()
    claimed_until: datetime | None = _when(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=255)  # the courier's process
    sent_at: datetime | None = _when(nullable=True)
    channel: str | None = Field(default=None, max_length=255)
    ts: str | None = Field(default=None, max_length=64)
    permalink: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class InboundDelivery(SQLModel, table=True):
    """Deliveries already handled (Slack event ids, webhook delivery ids): a retry acts once."""

    __tablename__ = "inbound_delivery"
    __table_args__ = (UniqueConstraint("source", "key", name="uq_inbound_delivery"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    key: str = Field(max_length=255)
    at: datetime = _when()


class CiResult(SQLModel, table=True):
    """One pipeline's result for one revision, as a CI reported it."""

    __tablename__ = "ci_result"
    __table_args__ = (
        UniqueConstraint("revision", "pipeline", "run_id", "status", name="uq_ci_result"),
        Index("ix_ci_result_revision_pipeline", "revision", "pipeline", "id"),
        Index("ix_ci_result_branch_pipeline", "branch", "pipeline", "id"),
        Index("ix_ci_result_received_at", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = _when()
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
    queued_at: datetime = _when()
    started_at: datetime | None = _when(nullable=True)
    finished_at: datetime | None = _when(nullable=True)
    claimed_until: datetime | None = _when(nullable=True)


class ReviewHead(SQLModel, table=True):
    """The head commit of an open pull or merge request, and the line state last published on it.

    A reconcile loop publishes ``andon/line`` wherever ``published`` differs from the line's state:
    a crash or a forge outage only delays a status, it never loses one.
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
    updated_at: datetime = _when()
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Deploy(SQLModel, table=True):
    """One deploy or rollback of one environment: who asked, which revision, how it ended.

    A rollback is a deploy of kind ``rollback``; both share the record, the lock and the run.
    """

    __table_args__ = (
        Index("ix_deploy_environment_status", "environment", "status", "id"),
        Index("ix_deploy_finished_at", "finished_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # deploy | rollback
    environment: str = Field(max_length=64)
    revision: str = Field(max_length=40)
    status: str = Field(default="pending", max_length=32)  # "awaiting_approval" is 17
    requested_at: datetime = _when()
    requested_by: str = Field(max_length=255)
    requested_by_name: str = Field(max_length=255)
    via: str = Field(max_length=32)
    approved_by: str | None = Field(default=None, max_length=255)
    approved_by_name: str | None = Field(default=None, max_length=255)
    fix_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # ``override``: why the release was marked bad when this deploy shipped it anyway
    overrode: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    started_at: datetime | None = _when(nullable=True)
    finished_at: datetime | None = _when(nullable=True)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    migrated: bool = False  # before_activate commands ran: rolling back across it asks first
    message_id: int | None = Field(default=None, foreign_key="outbox_message.id")
    holder: str | None = Field(default=None, max_length=255)  # the process running it
    committed_at: datetime | None = _when(nullable=True)  # the revision's commit: lead time


class DeployHost(SQLModel, table=True):
    """One host's part in a deploy: where it was, how far it got, how long each step took."""

    __tablename__ = "deploy_host"

    id: int | None = Field(default=None, primary_key=True)
    deploy_id: int = Field(foreign_key="deploy.id", index=True)
    position: int
    address: str = Field(max_length=255)
    step: str = Field(default="waiting", max_length=16)
    previous_revision: str | None = Field(default=None, max_length=40)
    started_at: datetime | None = _when(nullable=True)
    staged_at: datetime | None = _when(nullable=True)
    activated_at: datetime | None = _when(nullable=True)
    finished_at: datetime | None = _when(nullable=True)
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
    next_attempt_at: datetime | None = _when(nullable=True)
    claimed_until: datetime | None = _when(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=255)
    updated_at: datetime = _when()
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Release(SQLModel, table=True):
    """A revision as it lived on one environment: when it went live, and whether it is bad."""

    __table_args__ = (UniqueConstraint("environment", "revision", name="uq_release"),)

    id: int | None = Field(default=None, primary_key=True)
    environment: str = Field(max_length=64)
    revision: str = Field(max_length=40)
    live_at: datetime | None = _when(nullable=True)  # the latest time it went live, healthy
    healthy_since: datetime | None = _when(nullable=True)  # live without a break since
    left_at: datetime | None = _when(nullable=True)
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
    expires_at: datetime | None = _when(nullable=True)


class Page(SQLModel, table=True):
    """One group of alerts paging a person, from its first firing to its last resolution.

    Repeats and escalations are due work: ``due_at`` says when the tick acts next, and the tick
    claims it by moving ``due_at`` in one conditional update, so it runs once across replicas.
    """

    __table_args__ = (
        Index("ix_page_identity_status", "identity", "status"),
        Index("ix_page_status_due", "status", "due_at"),
        Index("ix_page_opened_at", "opened_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    identity: str = Field(max_length=300)  # the group: source:group:<key> or source:name:<name>
    source: str = Field(max_length=32)
    sender: str | None = Field(default=None, max_length=100)  # a generic payload's ``source``
    name: str = Field(max_length=255)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    severity: str | None = Field(default=None, max_length=32)
    value: str | None = Field(default=None, max_length=255)
    url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    labels: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="open", max_length=16)  # open | acknowledged | resolved | held
    held_for: str | None = Field(default=None, max_length=16)  # flapping | storm, when held
    stops_line: bool = True
    opened_at: datetime = _when()
    last_fired_at: datetime = _when()
    fired: int = 1
    oncall: str | None = Field(default=None, max_length=64)  # who is paged now
    level: int = 0  # 0 the on-call person, 1 the next in the rotation, 2 the channel
    due_at: datetime | None = _when(nullable=True)
    acked_at: datetime | None = _when(nullable=True)
    acked_by: str | None = Field(default=None, max_length=255)
    acked_by_name: str | None = Field(default=None, max_length=255)
    resolved_at: datetime | None = _when(nullable=True)
    resolved_by: str | None = Field(default=None, max_length=255)
    resolved_by_name: str | None = Field(default=None, max_length=255)
    dm_id: int | None = Field(default=None, foreign_key="outbox_message.id")
    channel_id: int | None = Field(default=None, foreign_key="outbox_message.id")
    stoppage_id: int | None = Field(default=None, foreign_key="stoppage.id")
    suspects: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    fired_at: datetime | None = _when(nullable=True)  # when it fired, as the sender says
    facts: dict[str, Any] = Field(  # origin, description, links, details: core/alerts/event.py
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )


class PageAlert(SQLModel, table=True):
    """One alert of a page: a page is one group of alerts (the sender's group, or one name), and
    each alert keeps its own identity, so a re-sent alert is known and its resolution found."""

    __tablename__ = "page_alert"
    __table_args__ = (
        UniqueConstraint("page_id", "identity", name="uq_page_alert_page_identity"),
        Index("ix_page_alert_identity_status", "identity", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    page_id: int = Field(foreign_key="page.id", index=True)
    identity: str = Field(max_length=300)  # source:key
    name: str = Field(max_length=255)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    value: str | None = Field(default=None, max_length=255)
    status: str = Field(default="firing", max_length=16)  # firing | resolved
    fired_at: datetime = _when()
    resolved_at: datetime | None = _when(nullable=True)
    severity: str | None = Field(default=None, max_length=32)  # as last sent: a change is told


class AlertStorm(SQLModel, table=True):
    """New pages held over the caps while a storm lasts, and the one channel message that says
    how many (updated in place as more are held)."""

    __tablename__ = "alert_storm"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = _when()
    last_held_at: datetime = _when(index=True)
    pages: int = 0  # new pages held
    alerts: int = 0  # their alerts
    told_pages: int = 0  # what the message says now
    told_alerts: int = 0
    told_at: datetime = _when()
    message_id: int | None = Field(default=None, foreign_key="outbox_message.id")


class PageEvent(SQLModel, table=True):
    """Everything that happened to a page — paged, repeated, escalated, acknowledged — and who."""

    __tablename__ = "page_event"
    __table_args__ = (Index("ix_page_event_kind_at", "kind", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    page_id: int = Field(foreign_key="page.id", index=True)
    at: datetime = _when()
    kind: str = Field(max_length=32)
    actor: str = Field(max_length=255)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))


class OncallOverride(SQLModel, table=True):
    """``/oncall override @user until <when>``: someone covers the rotation for a while."""

    __tablename__ = "oncall_override"

    id: int | None = Field(default=None, primary_key=True)
    user: str = Field(max_length=64)
    starts_at: datetime = _when()
    until: datetime = _when(index=True)
    by: str = Field(max_length=255)
    by_name: str = Field(max_length=255)


class OncallHandoff(SQLModel, table=True):
    """Who was last told they are on call: a change is a handoff, and the new person hears it."""

    __tablename__ = "oncall_handoff"

    id: int | None = Field(default=None, primary_key=True)
    user: str = Field(max_length=64)
    at: datetime = _when()


class CheckState(SQLModel, table=True):
    """A built-in check's last reading, and since when it has been out of bounds."""

    __tablename__ = "check_state"

    name: str = Field(primary_key=True, max_length=64)
    value: float | None = None
    checked_at: datetime | None = _when(nullable=True)
    due_at: datetime | None = _when(nullable=True)
    out_since: datetime | None = _when(nullable=True)  # None while within bounds
    firing: bool = False
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Whys(SQLModel, table=True):
    """A stoppage's root cause analysis: which why is open, how severe, when it meets, when done.

    Reminders and nags are due work (``remind_at``, ``nag_at``) claimed by the tick.
    """

    stoppage_id: int = Field(primary_key=True, foreign_key="stoppage.id")
    severity: str = Field(default="minor", max_length=16)  # minor | major | critical
    severity_from: str = Field(default="default", max_length=32)  # default | alert | a person
    open_level: int = 1  # 1–5: that why is asked; 6: investments; 7: done
    scheduled_at: datetime | None = _when(nullable=True)
    scheduled_by: str | None = Field(default=None, max_length=255)
    remind_at: datetime | None = _when(nullable=True, index=True)
    nag_at: datetime | None = _when(nullable=True, index=True)
    done_at: datetime | None = _when(nullable=True)
    repeat_of: int | None = Field(default=None, foreign_key="stoppage.id")


class WhyAnswer(SQLModel, table=True):
    """Answer N of a five whys: who said it in the thread, in which message, when, and whether
    it was edited."""

    __tablename__ = "why_answer"
    __table_args__ = (UniqueConstraint("stoppage_id", "level", name="uq_why_answer"),)

    id: int | None = Field(default=None, primary_key=True)
    stoppage_id: int = Field(foreign_key="stoppage.id", index=True)
    level: int
    text: str = Field(sa_column=Column(Text, nullable=False))
    by: str = Field(max_length=255)
    by_name: str = Field(max_length=255)
    at: datetime = _when()
    edited_at: datetime | None = _when(nullable=True)
    # The thread message that gave it (Slack's ``ts``; none from the terminal): an edit of that
    # message in Slack finds its answer by it.
    message_ts: str | None = Field(default=None, max_length=64)


class ThreadReply(SQLModel, table=True):
    """A reply in a stoppage's thread that answered nothing (the team's chatter), kept so that
    pinning it with the thread's reaction can make it the open why's answer."""

    __tablename__ = "thread_reply"
    __table_args__ = (Index("ix_thread_reply_message", "stoppage_id", "message"),)

    id: int | None = Field(default=None, primary_key=True)
    stoppage_id: int = Field(foreign_key="stoppage.id")
    message: str = Field(max_length=64)  # the chat's id of the message (Slack's ts)
    by: str = Field(max_length=255)
    by_name: str = Field(max_length=255)
    text: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = _when()


class ActionItem(SQLModel, table=True):
    """The investment a five whys made at one level: an action with an owner and a due date,
    or a reasoned ``none``."""

    __tablename__ = "action_item"
    __table_args__ = (
        UniqueConstraint("stoppage_id", "level", name="uq_action_item"),
        Index("ix_action_item_owner_status", "owner", "status"),
        Index("ix_action_item_created_at", "created_at"),
        Index("ix_action_item_done_at", "done_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    stoppage_id: int = Field(foreign_key="stoppage.id", index=True)
    level: int
    text: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="open", max_length=16)  # open | done | none
    owner: str | None = Field(default=None, max_length=64)
    owner_name: str | None = Field(default=None, max_length=255)
    due: date | None = None
    category: str | None = Field(default=None, max_length=32)
    created_by: str = Field(max_length=255)
    created_at: datetime = _when()
    done_at: datetime | None = _when(nullable=True)
    done_by: str | None = Field(default=None, max_length=255)
    reminded_on: date | None = None  # the last weekday morning its owner heard it is overdue


class DigestPost(SQLModel, table=True):
    """A week whose digest went to the channel: the row is the claim, so it is posted once."""

    __tablename__ = "digest_post"

    week: str = Field(primary_key=True, max_length=16)  # ISO week, "2026-W47"
    posted_at: datetime = _when()
    message_id: int | None = Field(default=None, foreign_key="outbox_message.id")


class HomeViewer(SQLModel, table=True):
    """Someone who opened Andon's Home tab, and whether theirs shows the latest.

    ``stale`` counts changes not yet shown. A publisher claims the row with a short lease (like
    an outbox row) and subtracts what it showed, so a change made while it publishes is shown by
    the next publish; a failed publish waits until ``next_attempt_at`` and is tried again.
    """

    __tablename__ = "home_viewer"
    __table_args__ = (Index("ix_home_viewer_stale", "stale", "next_attempt_at"),)

    user_id: str = Field(primary_key=True, max_length=64)
    opened_at: datetime = _when(index=True)  # the last time they opened it
    stale: int = 0
    next_attempt_at: datetime | None = _when(nullable=True)
    attempts: int = 0
    claimed_until: datetime | None = _when(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=255)
    published_at: datetime | None = _when(nullable=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
