"""The per-environment deploy lock: a database lease, so it holds across replicas and a process
that dies stops renewing it instead of blocking deploys forever."""

from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from core.clock import Clock
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
    """Take the lock for a deploy; returns ``None`` on success, else the deploy holding it."""
    lock = _locked(session, environment)
    now = clock.now()
    if _live(lock, now) and lock.deploy_id != deploy_id:
        return lock.deploy_id
    lock.deploy_id, lock.holder, lock.expires_at = deploy_id, holder, now + TTL
    session.add(lock)
    return None


def renew(session: Session, *, environment: str, deploy_id: int, clock: Clock) -> bool:
    """Keep the lease of a running deploy; ``False`` when it was lost (swept as interrupted)."""
    lock = _locked(session, environment)
    if lock.deploy_id != deploy_id:
        return False
    lock.expires_at = clock.now() + TTL
    session.add(lock)
    return True


def release(session: Session, *, environment: str, deploy_id: int) -> None:
    lock = _locked(session, environment)
    if lock.deploy_id == deploy_id:
        lock.deploy_id, lock.holder, lock.expires_at = None, None, None
        session.add(lock)


def expired(lock: DeployLock | None, clock: Clock) -> bool:
    return lock is None or not _live(lock, clock.now())


def _live(lock: DeployLock, now: datetime) -> bool:
    return lock.deploy_id is not None and lock.expires_at is not None and lock.expires_at > now


def _locked(session: Session, environment: str) -> DeployLock:
    """The environment's lock row, created on first use and locked for this transaction."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.exec(  # type: ignore[call-overload]
        insert(DeployLock).values(environment=environment).on_conflict_do_nothing()
    )
    statement = select(DeployLock).where(DeployLock.environment == environment)
    lock = session.exec(statement.with_for_update().execution_options(populate_existing=True))
    return lock.one()
