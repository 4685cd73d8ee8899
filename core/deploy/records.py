"""What was recorded of deploys and releases, as the fronts and the API show it."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlmodel import Session, col, select

from core.actor import Actor
from core.deploy.state import DeployKind, DeployState, HostStep
from storage.tables import Deploy, DeployHost, Release


@dataclass(frozen=True)
class HostView:
    address: str
    step: HostStep
    previous_revision: str | None
    started_at: datetime | None
    finished_at: datetime | None
    files_sent: int
    bytes_sent: int
    error: str | None
    runs: str | None = None  # what it was found running after an interruption

    @property
    def took(self) -> timedelta | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


@dataclass(frozen=True)
class DeployView:
    id: int
    kind: DeployKind
    environment: str
    revision: str
    status: DeployState
    requested_by: Actor
    requested_at: datetime
    approved_by: Actor | None
    fix_reason: str | None
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    migrated: bool
    hosts: tuple[HostView, ...]
    health_checked: bool
    message_id: int | None
    overrode: str | None = None  # ``override``: why the release it shipped was marked bad
    live_revision: str | None = None  # what the environment runs now, as deploys recorded
    resumes: int | None = None  # the interrupted deploy this one continues
    resumed_by: Actor | None = None
    watching: str | None = None  # while a batch is watched: each metric against its baseline

    @property
    def short(self) -> str:
        return self.revision[:7]

    @property
    def is_rollback(self) -> bool:
        return self.kind == DeployKind.ROLLBACK

    @property
    def live_hosts(self) -> int:
        return sum(host.step in (HostStep.ACTIVE, HostStep.HEALTHY) for host in self.hosts)

    @property
    def duration(self) -> timedelta | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    @property
    def previous_revision(self) -> str | None:
        """What the hosts ran before: the target of the progress message's Roll back button."""
        known = {host.previous_revision for host in self.hosts if host.previous_revision}
        return known.pop() if len(known) == 1 else None

    @property
    def rollback_to(self) -> str | None:
        """Where a *Roll back* button on this deploy can go: only from a deploy that is still
        what runs, and only to something else than what runs (never a button that can only
        fail)."""
        previous = self.previous_revision
        if self.status != DeployState.SUCCEEDED or self.is_rollback or previous is None:
            return None
        if self.live_revision != self.revision or previous == self.revision:
            return None
        return previous


def view(session: Session, deploy_id: int, *, health_checked: bool = False) -> DeployView:
    deploy = session.get(Deploy, deploy_id)
    if deploy is None:
        raise LookupError(f"no deploy #{deploy_id}")
    assert deploy.id is not None
    live = _live_revision(session, deploy.environment) if _offers_rollback(deploy) else None
    rows = hosts(session, deploy.id)
    return view_of(deploy, rows, health_checked=health_checked, live_revision=live)


def hosts(session: Session, deploy_id: int) -> list[DeployHost]:
    """A deploy's hosts' rows, in the order they go live."""
    return list(
        session.exec(
            select(DeployHost)
            .where(DeployHost.deploy_id == deploy_id)
            .order_by(col(DeployHost.position))
        ).all()
    )


def view_of(
    deploy: Deploy,
    hosts: Iterable[DeployHost],
    *,
    health_checked: bool,
    live_revision: str | None = None,
    watching: str | None = None,
) -> DeployView:
    """The view of rows already read (a run keeps its hosts' rows): no query. ``live_revision``
    matters only to a succeeded deploy (its *Roll back* button)."""
    assert deploy.id is not None
    approver = resumer = None
    if deploy.approved_by is not None:
        approver = Actor(deploy.approved_by, deploy.approved_by_name or "", "slack")
    if deploy.resumed_by is not None:
        resumer = Actor(deploy.resumed_by, deploy.resumed_by_name or "", deploy.resumed_via or "")
    return DeployView(
        id=deploy.id,
        kind=DeployKind(deploy.kind),
        environment=deploy.environment,
        revision=deploy.revision,
        status=DeployState(deploy.status),
        requested_by=Actor(deploy.requested_by, deploy.requested_by_name, deploy.via),
        requested_at=deploy.requested_at,
        approved_by=approver,
        fix_reason=deploy.fix_reason,
        started_at=deploy.started_at,
        finished_at=deploy.finished_at,
        error=deploy.error,
        migrated=deploy.migrated,
        hosts=tuple(_host(row) for row in sorted(hosts, key=lambda row: row.position)),
        health_checked=health_checked,
        message_id=deploy.message_id,
        overrode=deploy.overrode,
        live_revision=live_revision,
        resumes=deploy.resumes,
        resumed_by=resumer,
        watching=watching,
    )


def _offers_rollback(deploy: Deploy) -> bool:
    """Only a succeeded deploy's view asks what runs now (``DeployView.rollback_to``)."""
    return deploy.kind == DeployKind.DEPLOY and deploy.status == DeployState.SUCCEEDED


def _live_revision(session: Session, environment: str) -> str | None:
    found = live(session, environment)
    return found.revision if found is not None else None


def _host(row: DeployHost) -> HostView:
    return HostView(
        address=row.address,
        step=HostStep(row.step),
        previous_revision=row.previous_revision,
        started_at=row.started_at,
        finished_at=row.finished_at,
        files_sent=row.files_sent,
        bytes_sent=row.bytes_sent,
        error=row.error,
        runs=row.runs,
    )


def recent(session: Session, *, limit: int = 50, environment: str | None = None) -> list[int]:
    """Deploy ids, newest first."""
    query = select(Deploy.id).order_by(col(Deploy.id).desc()).limit(limit)
    if environment is not None:
        query = query.where(Deploy.environment == environment)
    return [deploy_id for deploy_id in session.exec(query).all() if deploy_id is not None]


def unfinished(session: Session) -> list[Deploy]:
    running = [DeployState.PENDING.value, DeployState.RUNNING.value]
    return list(session.exec(select(Deploy).where(col(Deploy.status).in_(running))).all())


# --- releases -------------------------------------------------------------------------------


def release(session: Session, environment: str, revision: str) -> Release | None:
    return session.exec(
        select(Release).where(Release.environment == environment, Release.revision == revision)
    ).first()


def live(session: Session, environment: str) -> Release | None:
    """The release the environment runs, as far as finished deploys say."""
    return session.exec(
        select(Release)
        .where(Release.environment == environment, col(Release.left_at).is_(None))
        .where(col(Release.live_at).is_not(None))
        .order_by(col(Release.live_at).desc())
    ).first()


def went_live(session: Session, *, environment: str, revision: str, at: datetime) -> Release | None:
    """The environment runs ``revision`` now; whatever ran before has left. Returns the release
    that was live until now, if it was another one (read with the rest: one query)."""
    rows = session.exec(
        select(Release).where(
            Release.environment == environment,
            or_(col(Release.left_at).is_(None), Release.revision == revision),
        )
    ).all()
    running = [row for row in rows if row.left_at is None and row.live_at is not None]
    before = max(running, key=lambda row: row.live_at or at, default=None)
    for other in rows:
        if other.revision != revision and other.left_at is None:
            other.left_at = at
            session.add(other)
    row = next((row for row in rows if row.revision == revision), None) or Release(
        environment=environment, revision=revision
    )
    row.live_at, row.healthy_since, row.left_at = at, at, None
    session.add(row)
    return before if before is not None and before.revision != revision else None


def mark_bad(
    session: Session,
    *,
    environment: str,
    revision: str,
    reason: str,
    known: Release | None = None,
) -> None:
    """The release must not ship again without ``override``; ``known``: its row, when the
    caller read it already (it is not read again)."""
    mine = known is not None and (known.environment, known.revision) == (environment, revision)
    row = (known if mine else release(session, environment, revision)) or Release(
        environment=environment, revision=revision
    )
    row.bad, row.bad_reason = True, reason
    session.add(row)


def ran(session: Session, environment: str) -> list[Release]:
    """The releases the environment has run, the most recently live first (what runs now is
    the first that has not left)."""
    return list(
        session.exec(
            select(Release)
            .where(Release.environment == environment, col(Release.live_at).is_not(None))
            .order_by(col(Release.live_at).desc())
        ).all()
    )


def newest_first(session: Session, environment: str) -> list[str]:
    """Revisions the environment has run, the most recently live first."""
    return [row.revision for row in ran(session, environment)]


def rollback_target(session: Session, environment: str, current: str | None) -> Release | None:
    """The newest earlier release that is not marked bad."""
    for row in session.exec(
        select(Release)
        .where(Release.environment == environment, col(Release.live_at).is_not(None))
        .where(col(Release.bad).is_(False))
        .order_by(col(Release.live_at).desc())
    ).all():
        if row.revision != current:
            return row
    return None


def migrated_since(session: Session, environment: str, revision: str) -> bool:
    """Did a deploy after ``revision`` last went live run migrations (before_activate)?"""
    target = release(session, environment, revision)
    if target is None or target.live_at is None:
        return False
    return (
        session.exec(
            select(Deploy.id).where(
                Deploy.environment == environment,
                Deploy.kind == DeployKind.DEPLOY,
                col(Deploy.migrated).is_(True),
                col(Deploy.started_at) > target.live_at,
            )
        ).first()
        is not None
    )


def bad_revisions(session: Session, environment: str) -> list[str]:
    return list(
        session.exec(
            select(Release.revision).where(
                Release.environment == environment, col(Release.bad).is_(True)
            )
        ).all()
    )
