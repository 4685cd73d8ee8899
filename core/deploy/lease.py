"""The per-environment deploy lock: a database lease, so it holds across replicas and a process
that dies stops renewing it instead of blocking deploys forever."""

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from core.clock import Clock
from storage.database import insert_for, scrubbed
from storage.tables import DeployLock

TTL = timedelta(seconds=30)
RENEW_EVERY = 10.0  # seconds: three chances before the lease runs out


def holding(session: Session, *, environment: str, clock: Clock) -> int | None:
    """The deploy that holds the environment now, or ``None`` when it is free."""
    lock = session.get(DeployLock, environment)
    return lock.deploy_id if lock is not None and _live(lock, clock.now()) else None


def acquire(
    session: Session, *, environment: str, deploy_id: int, holder: str, clock: Clock
) -> int | None:
    """Take the lock for a deploy; returns ``None`` on success, else the deploy holding it.

    One statement when the lock is free: the row is created or taken over only where no live
    lease of another deploy holds it (``ON CONFLICT … DO UPDATE … WHERE``), atomically on both
    databases."""
    now = clock.now()
    insert = insert_for(session)
    values = scrubbed(
        session,
        {"environment": environment, "deploy_id": deploy_id, "holder": holder},
    )
    wanted = insert(DeployLock).values(**values, expires_at=now + TTL)
    lock = DeployLock.__table__.c  # type: ignore[attr-defined]
    free = or_(
        lock.deploy_id.is_(None),
        lock.expires_at.is_(None),
        lock.expires_at <= now,
        lock.deploy_id == deploy_id,
    )
    taken = session.execute(
        wanted.on_conflict_do_update(
            index_elements=["environment"],
            set_={
                "deploy_id": wanted.excluded.deploy_id,
                "holder": wanted.excluded.holder,
                "expires_at": wanted.excluded.expires_at,
            },
            where=free,
        ).returning(lock.deploy_id)
    ).first()
    _forget(session, environment)
    if taken is not None:
        return None
    return _locked(session, environment).deploy_id


def renew(session: Session, *, environment: str, deploy_id: int, clock: Clock) -> bool:
    """Keep the lease of a running deploy; ``False`` when it was lost (swept as interrupted)."""
    lock = _locked(session, environment)
    if lock.deploy_id != deploy_id:
        return False
    lock.expires_at = clock.now() + TTL
    session.add(lock)
    return True


def release(session: Session, *, environment: str, deploy_id: int) -> None:
    """Free the lock, if this deploy holds it (one statement)."""
    session.execute(
        update(DeployLock)
        .where(col(DeployLock.environment) == environment, col(DeployLock.deploy_id) == deploy_id)
        .values(deploy_id=None, holder=None, expires_at=None)
    )


def expired(lock: DeployLock | None, clock: Clock) -> bool:
    return lock is None or not _live(lock, clock.now())


def _live(lock: DeployLock, now: datetime) -> bool:
    return lock.deploy_id is not None and lock.expires_at is not None and lock.expires_at > now


def _forget(session: Session, environment: str) -> None:
    """A statement changed the lock behind the session's back: a copy it read before is stale."""
    for row in list(session.identity_map.values()):
        if isinstance(row, DeployLock) and row.environment == environment:
            session.expire(row)


def _locked(session: Session, environment: str) -> DeployLock:
    """The environment's lock row, created on first use and locked for this transaction."""
    session.exec(  # type: ignore[call-overload]
        insert_for(session)(DeployLock).values(environment=environment).on_conflict_do_nothing()
    )
    statement = select(DeployLock).where(DeployLock.environment == environment)
    lock = session.exec(statement.with_for_update().execution_options(populate_existing=True))
    return lock.one()
