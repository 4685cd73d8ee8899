"""What each forge was told of each deploy: one row per deploy and forge, claimed for each step.

A deploy is taken on when it starts (or if it ended within ``TAKE_ON``): a token set today does
not replay the line's whole history. Its row then says what the forge shows — created, running,
how it ended, inactive once a later deploy replaced it — and when the next step is due. A step is
claimed with a short lease (as the courier claims an outbox row), and what the forge now shows is
written before the claim is let go, so several replicas and restarts tell each step once.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import claims
from core.clock import Clock
from core.deploy.state import DeployState
from storage.tables import Deploy, ForgeDeployment, OutboxMessage

Shown = Literal["created", "running", "succeeded", "failed", "interrupted", "inactive"]

TAKE_ON = timedelta(hours=1)  # a deploy that ended longer ago is history, not news
LEASE = timedelta(seconds=60)
MAX_BACKOFF = timedelta(minutes=5)
MAX_ERROR = 2000

_UNFINISHED = (DeployState.PENDING.value, DeployState.RUNNING.value)
_ENDS: tuple[Shown, ...] = ("succeeded", "failed", "interrupted")
_STARTED = (*_UNFINISHED, *_ENDS)  # awaiting approval or cancelled: never a deployment


@dataclass(frozen=True)
class DeployFacts:
    """What a forge is told of one deploy or rollback."""

    id: int
    kind: str  # deploy | rollback
    environment: str
    revision: str
    status: DeployState
    by: str  # the name of who asked for it
    via: str
    fix_reason: str | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    link: str | None  # where people follow it (its message in the channel), once known


@dataclass(frozen=True)
class Step:
    """The next thing one forge is to be told of one deploy: ``created`` means create it."""

    row_id: int
    forge: str
    project: str
    forge_id: str | None
    before: Shown | None
    to: Shown
    deploy: DeployFacts


def take_on(session: Session, *, clock: Clock, projects: Mapping[str, str]) -> int:
    """Give each forge a row for every deploy it has not heard of: those under way, or ended
    within ``TAKE_ON`` — so a token set today does not replay the line's whole history."""
    now, added = clock.now(), 0
    for forge, project in projects.items():
        known = select(ForgeDeployment.deploy_id).where(ForgeDeployment.forge == forge)
        fresh = session.exec(
            select(Deploy.id)
            .where(col(Deploy.status).in_(_STARTED), col(Deploy.id).not_in(known))
            .where(
                or_(col(Deploy.status).in_(_UNFINISHED), col(Deploy.finished_at) >= now - TAKE_ON)
            )
            .order_by(col(Deploy.id))
        ).all()
        for deploy_id in fresh:
            assert deploy_id is not None
            row = ForgeDeployment(
                deploy_id=deploy_id, forge=forge, project=project, next_attempt_at=now
            )
            row.updated_at = now
            try:
                with session.begin_nested():
                    session.add(row)
            except IntegrityError:  # another replica took it on first
                continue
            added += 1
    return added


def next_state(
    shown: Shown | None, status: DeployState, *, replaced: bool, marks_replaced: bool
) -> Shown | None:
    """What the forge is to show next of a deploy that is ``status`` now, if anything."""
    if shown is None:
        return "created"
    if shown == "created":
        return "running"
    if shown == "running" and status.value in _ENDS:
        return status.value  # type: ignore[return-value]
    if shown == "succeeded" and marks_replaced and replaced:
        return "inactive"
    return None


def due(
    session: Session, *, clock: Clock, marks_replaced: Mapping[str, bool], limit: int = 200
) -> list[Step]:
    """Every row with a next step, due and unclaimed: creations and ends in the order the
    deploys were made, replacements after them (the new deployment succeeds first)."""
    now = clock.now()
    rows = session.exec(
        select(ForgeDeployment, Deploy)
        .join(Deploy, col(Deploy.id) == col(ForgeDeployment.deploy_id))
        .where(col(ForgeDeployment.forge).in_(sorted(marks_replaced)))
        .where(col(ForgeDeployment.next_attempt_at) <= now)
        .where(
            or_(
                col(ForgeDeployment.claimed_until).is_(None),
                col(ForgeDeployment.claimed_until) < now,
            )
        )
        .order_by(col(ForgeDeployment.deploy_id), col(ForgeDeployment.id))
        .limit(limit)
    ).all()
    steps = []
    for row, deploy in rows:
        shown: Shown | None = row.shown  # type: ignore[assignment]
        replaced = shown == "succeeded" and _replaced(session, deploy, forge=row.forge)
        to = next_state(
            shown,
            DeployState(deploy.status),
            replaced=replaced,
            marks_replaced=marks_replaced[row.forge],
        )
        if to is None or (to != "created" and row.forge_id is None):
            continue
        assert row.id is not None
        facts = _facts(session, deploy)
        steps.append(Step(row.id, row.forge, row.project, row.forge_id, shown, to, facts))
    return sorted(steps, key=lambda step: (step.to == "inactive", step.deploy.id))


def claim(session: Session, *, clock: Clock, step: Step, holder: str) -> bool:
    """Take the row for ``holder`` while it still shows what the step starts from: one
    conditional update decides between replicas, and a step another one told is not told again."""
    now = clock.now()
    before = ForgeDeployment.shown
    taken = session.execute(
        update(ForgeDeployment)
        .where(
            col(ForgeDeployment.id) == step.row_id,
            col(before).is_(None) if step.before is None else col(before) == step.before,
            col(ForgeDeployment.next_attempt_at) <= now,
            or_(
                col(ForgeDeployment.claimed_until).is_(None),
                col(ForgeDeployment.claimed_until) < now,
            ),
        )
        .values(claimed_until=now + LEASE, claimed_by=holder)
    )
    return taken.rowcount == 1


def told(
    session: Session,
    *,
    clock: Clock,
    step: Step,
    holder: str,
    shown: Shown,
    marks_replaced: bool,
    forge_id: str | None = None,
) -> None:
    """The forge took the step: it shows ``shown`` now; the row rests once nothing can follow."""
    now = clock.now()
    more = shown in ("created", "running") or (shown == "succeeded" and marks_replaced)
    _settle(
        session,
        row_id=step.row_id,
        holder=holder,
        shown=shown,
        forge_id=forge_id or step.forge_id,
        attempts=0,
        next_attempt_at=now if more else None,
        updated_at=now,
        last_error=None,
    )


def postponed(session: Session, *, clock: Clock, step: Step, holder: str, reason: str) -> timedelta:
    """The forge was down or busy: the step waits a little longer after each failure."""
    row = session.get(ForgeDeployment, step.row_id, populate_existing=True)
    attempts = (row.attempts if row is not None else 0) + 1
    wait = min(timedelta(seconds=2 ** (attempts - 1)), MAX_BACKOFF)
    now = clock.now()
    _settle(
        session,
        row_id=step.row_id,
        holder=holder,
        attempts=attempts,
        next_attempt_at=now + wait,
        updated_at=now,
        last_error=reason[:MAX_ERROR],
    )
    return wait


def given_up(session: Session, *, clock: Clock, step: Step, holder: str, reason: str) -> None:
    """The forge refused the request itself: nothing more is sent for this deploy there."""
    _settle(
        session,
        row_id=step.row_id,
        holder=holder,
        next_attempt_at=None,
        updated_at=clock.now(),
        last_error=reason[:MAX_ERROR],
    )


def claimants(session: Session) -> list[str]:
    """Who holds a row now: a mirror that died is found among them and let go of."""
    return claims.holders(session, ForgeDeployment)


def release(session: Session, *, holders: list[str]) -> int:
    """Free the rows of mirrors that are gone, so a restarted Andon goes on at once."""
    return claims.let_go(session, ForgeDeployment, holders=holders)


def _replaced(session: Session, deploy: Deploy, *, forge: str) -> bool:
    """A later deploy of the environment succeeded, and the forge shows it did."""
    later = session.exec(
        select(Deploy.id, ForgeDeployment.shown)
        .outerjoin(
            ForgeDeployment,
            and_(
                col(ForgeDeployment.deploy_id) == col(Deploy.id),
                col(ForgeDeployment.forge) == forge,
            ),
        )
        .where(Deploy.environment == deploy.environment, col(Deploy.id) > deploy.id)
        .where(Deploy.status == DeployState.SUCCEEDED.value)
    ).all()
    return any(shown in ("succeeded", "inactive") for _, shown in later)


def _facts(session: Session, deploy: Deploy) -> DeployFacts:
    assert deploy.id is not None
    message = session.get(OutboxMessage, deploy.message_id) if deploy.message_id else None
    return DeployFacts(
        id=deploy.id,
        kind=deploy.kind,
        environment=deploy.environment,
        revision=deploy.revision,
        status=DeployState(deploy.status),
        by=deploy.requested_by_name,
        via=deploy.via,
        fix_reason=deploy.fix_reason,
        error=deploy.error,
        started_at=deploy.started_at,
        finished_at=deploy.finished_at,
        link=message.permalink if message is not None else None,
    )


def _settle(session: Session, *, row_id: int, holder: str, **values: object) -> None:
    """Only the holder settles: a mirror whose lease ran out leaves the row to its taker."""
    session.execute(
        update(ForgeDeployment)
        .where(col(ForgeDeployment.id) == row_id, col(ForgeDeployment.claimed_by) == holder)
        .values(claimed_until=None, claimed_by=None, **values)
    )
