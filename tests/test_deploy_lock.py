"""The per-environment deploy lock is a database lease, on SQLite and PostgreSQL: one holder at a
time, renewed while the deploy runs, free again when it ends or its process stops renewing —
and a deploy whose process died is swept as interrupted."""

from datetime import UTC, datetime, timedelta

from core.clock import ManualClock
from core.deploy import lease, recovery
from core.deploy.state import DeployState
from storage.database import Database
from storage.tables import Deploy
from tests.notifier import RecordingNotifier

T0 = datetime(2026, 11, 26, 14, 2, tzinfo=UTC)


def _deploy(database: Database, *, status: str = "running", holder: str = "elsewhere:1:aa") -> int:
    with database.writing() as session:
        row = Deploy(
            kind="deploy",
            environment="production",
            revision="a" * 40,
            status=status,
            requested_at=T0,
            requested_by="U0MARIA",
            requested_by_name="maria",
            via="slack",
            holder=holder,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def test_one_deploy_holds_an_environment_until_it_releases_it(database: Database) -> None:
    clock = ManualClock(T0)
    first, second = _deploy(database), _deploy(database)
    with database.writing() as session:
        assert (
            lease.acquire(
                session, environment="production", deploy_id=first, holder="a", clock=clock
            )
            is None
        )
    with database.writing() as session:
        taken = lease.acquire(
            session, environment="production", deploy_id=second, holder="b", clock=clock
        )
        assert taken == first
        assert (
            lease.acquire(session, environment="staging", deploy_id=second, holder="b", clock=clock)
            is None
        )
    with database.writing() as session:
        lease.release(session, environment="production", deploy_id=first)
    with database.writing() as session:
        assert lease.holding(session, environment="production", clock=clock) is None


def test_a_lease_that_is_not_renewed_frees_itself(database: Database) -> None:
    clock = ManualClock(T0)
    first, second = _deploy(database), _deploy(database)
    with database.writing() as session:
        lease.acquire(session, environment="production", deploy_id=first, holder="a", clock=clock)
    clock.advance(lease.TTL - timedelta(seconds=1))
    with database.writing() as session:
        assert lease.renew(session, environment="production", deploy_id=first, clock=clock)
    clock.advance(lease.TTL - timedelta(seconds=1))
    with database.writing() as session:
        assert lease.holding(session, environment="production", clock=clock) == first
    clock.advance(timedelta(seconds=2))
    with database.writing() as session:
        assert lease.holding(session, environment="production", clock=clock) is None
        assert (
            lease.acquire(
                session, environment="production", deploy_id=second, holder="b", clock=clock
            )
            is None
        )
        assert not lease.renew(session, environment="production", deploy_id=first, clock=clock)


def test_a_deploy_whose_process_died_is_swept_as_interrupted(
    database: Database, notifier: RecordingNotifier
) -> None:
    clock = ManualClock(T0)
    dead, alive = _deploy(database, holder="dead"), _deploy(database, holder="alive")
    with database.writing() as session:
        lease.acquire(session, environment="production", deploy_id=dead, holder="dead", clock=clock)
        lease.acquire(session, environment="staging", deploy_id=alive, holder="alive", clock=clock)
        session.get(Deploy, alive).environment = "staging"  # type: ignore[union-attr]
    with database.writing() as session:
        swept = recovery.sweep(
            session, notifier=notifier.on(session), clock=clock, is_dead=lambda h: h == "dead"
        )
    assert swept == [dead]
    with database.reading() as session:
        assert session.get(Deploy, dead).status == DeployState.INTERRUPTED  # type: ignore[union-attr]
        assert session.get(Deploy, alive).status == DeployState.RUNNING  # type: ignore[union-attr]
        assert lease.holding(session, environment="production", clock=clock) is None
        assert lease.holding(session, environment="staging", clock=clock) == alive
