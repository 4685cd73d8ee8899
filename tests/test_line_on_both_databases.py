"""The line's rules against real SQLite and PostgreSQL, in-process, with a clock the test moves."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel, func, select

from bot.outbox.notifier import Outbox
from bot.render import notice
from core import line
from core.actor import Actor
from core.clock import ManualClock
from core.lifecycle import IllegalMoveError
from core.line import AlreadyStopped, LineState, Started, Stopped
from core.refusal import Refusal
from core.stoppage import StoppageState, move
from core.whys import rule as whys_rule
from core.whys.analysis import whys_of
from storage import migrate
from storage.database import Database
from storage.tables import AuditEntry, OutboxMessage, Stoppage, StoppageCause, Whys

MARIA = Actor("U0MARIA", "maria", "slack")
OPS = Actor("ops", "ops", "cli")
T0 = datetime(2026, 11, 23, 14, 2, tzinfo=UTC)


def _stop(database: Database, clock: ManualClock, actor: Actor, reason: str):
    with database.writing() as session:
        outbox = Outbox(session, channel="C0LINE001", clock=clock, render=notice)
        return line.stop(session, notifier=outbox, clock=clock, actor=actor, reason=reason)


def _start(database: Database, clock: ManualClock, actor: Actor):
    """Start once the stoppage's five whys has a meeting (the rule that restarts the line)."""
    with database.writing() as session:
        outbox = Outbox(session, channel="C0LINE001", clock=clock, render=notice)
        whys_rule.schedule(session, notifier=outbox, clock=clock, actor=actor, when="in 1h")
        return line.start(session, notifier=outbox, clock=clock, actor=actor)


def _count(database: Database, table: type[SQLModel]) -> int:
    with database.reading() as session:
        return session.exec(select(func.count()).select_from(table)).one()


def test_migrations_build_exactly_the_tables_the_code_declares(database: Database) -> None:
    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []
    assert migrate.is_current(database)


def test_a_new_line_runs(database: Database) -> None:
    with database.reading() as session:
        assert line.peek(session, clock=ManualClock(T0)).state == LineState.RUNNING


def test_stop_opens_a_stoppage_with_its_announcement_and_thread(database: Database) -> None:
    result = _stop(database, ManualClock(T0), MARIA, "CI is red on main")
    assert isinstance(result, Stopped)
    assert result.stoppage.reason == "CI is red on main"
    assert result.stoppage.opened_by == MARIA
    with database.reading() as session:
        messages = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.kind for m in messages] == ["post", "reply"]
    assert "Line stopped by maria: CI is red on main" in messages[0].payload["text"]
    assert messages[1].parent_id == messages[0].id


def test_stopping_a_stopped_line_adds_a_cause_not_a_stoppage(database: Database) -> None:
    clock = ManualClock(T0)
    _stop(database, clock, MARIA, "CI is red")
    result = _stop(database, clock, OPS, "and the disk is full")
    assert isinstance(result, AlreadyStopped)
    assert [c.text for c in result.stoppage.causes] == ["CI is red", "and the disk is full"]
    assert _count(database, Stoppage) == 1


def test_several_reasons_at_once_are_a_cause_each_of_one_stoppage(database: Database) -> None:
    """A delivery of alerts stops the line for each of its pages, taking the line's lock once."""
    clock = ManualClock(T0)
    with database.writing() as session:
        outbox = Outbox(session, channel="C0LINE001", clock=clock, render=notice)
        causes = [(OPS, "disk full"), (MARIA, "   "), (OPS, "queue stuck")]
        joined = line.stop_many(session, notifier=outbox, clock=clock, causes=causes)
    again = _stop(database, clock, MARIA, "CI is red")

    assert isinstance(again, AlreadyStopped)
    assert joined == [again.stoppage.id, None, again.stoppage.id]
    assert [c.text for c in again.stoppage.causes] == ["disk full", "queue stuck", "CI is red"]
    with database.reading() as session:
        kinds = [m.kind for m in session.exec(select(OutboxMessage).order_by(OutboxMessage.id))]
        audited = session.exec(
            select(AuditEntry.outcome, AuditEntry.message).order_by(AuditEntry.id)
        ).all()
    # announcement, thread; each cause added: a reply, and the announcement updated to name it
    assert kinds == ["post", "reply", "reply", "update", "reply", "update"]
    assert [tuple(row) for row in audited][1:] == [
        ("ok", f"stoppage #{again.stoppage.id}"),
        ("ok", "cause added"),
        ("ok", "cause added"),
    ]
    assert audited[0][0] == "refused" and "Say why" in audited[0][1]  # before the lock


def test_start_records_how_long_the_line_was_stopped(database: Database) -> None:
    clock = ManualClock(T0)
    _stop(database, clock, MARIA, "CI is red")
    clock.advance(timedelta(minutes=42))
    result = _start(database, clock, OPS)
    assert isinstance(result, Started)
    assert result.stopped_for == timedelta(minutes=42)
    with database.reading() as session:
        status = line.peek(session, clock=clock)
        stoppage = session.exec(select(Stoppage)).one()
    assert status.state == LineState.RUNNING and status.since == T0 + timedelta(minutes=42)
    assert stoppage.closed_at == T0 + timedelta(minutes=42)
    assert stoppage.closed_by == "ops"


def test_starting_a_running_line_is_refused_and_audited(database: Database) -> None:
    clock = ManualClock(T0)
    with database.writing() as session:
        outbox = Outbox(session, channel="C0LINE001", clock=clock, render=notice)
        result = line.start(session, notifier=outbox, clock=clock, actor=OPS)
    assert isinstance(result, Refusal)
    assert "already running" in result.reason
    with database.reading() as session:
        entry = session.exec(select(AuditEntry)).one()
    assert (entry.action, entry.outcome) == ("line.start", "refused")


def test_a_stop_without_a_reason_is_refused_and_changes_nothing(database: Database) -> None:
    result = _stop(database, ManualClock(T0), MARIA, "   ")
    assert isinstance(result, Refusal)
    assert "Say why" in result.reason
    assert _count(database, Stoppage) == 0
    assert _count(database, OutboxMessage) == 0


def test_a_closed_stoppage_cannot_reopen() -> None:
    stoppage = Stoppage(state="closed")
    with pytest.raises(IllegalMoveError):
        move(stoppage, StoppageState.OPEN)


def test_concurrent_stops_end_with_one_stoppage(database: Database) -> None:
    clock = ManualClock(T0)
    barrier = threading.Barrier(12)
    results: list[object] = []

    def pull(n: int) -> None:
        barrier.wait()
        results.append(_stop(database, clock, Actor(f"U{n}", f"user{n}", "slack"), f"reason {n}"))

    threads = [threading.Thread(target=pull, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(r, Stopped) for r in results) == 1
    assert sum(isinstance(r, AlreadyStopped) for r in results) == 11
    assert _count(database, Stoppage) == 1
    assert _count(database, StoppageCause) == 12
    assert _count(database, AuditEntry) == 12


def test_times_come_back_in_utc(database: Database) -> None:
    _stop(database, ManualClock(T0), MARIA, "CI is red")
    with database.reading() as session:
        stoppage = session.exec(select(Stoppage)).one()
    assert stoppage.opened_at == T0
    assert stoppage.opened_at.tzinfo is not None


def test_replicas_reaching_a_new_stoppage_s_five_whys_at_once_share_one(
    database: Database,
) -> None:
    """The five whys row is made when first needed — by the stop, a tick, a reply — and two
    replicas may need it at the same moment: both get it, neither fails on the other's."""
    clock = ManualClock(T0)
    failures: list[BaseException] = []
    for n in range(8):
        _stop(database, clock, MARIA, f"stop {n}")
        with database.reading() as session:
            stoppage_id = session.exec(select(func.max(Stoppage.id))).one()
        barrier = threading.Barrier(2)

        def need(stoppage_id: int = stoppage_id, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                with database.writing() as session:
                    assert whys_of(session, stoppage_id).open_level == 1
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=need) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        _start(database, clock, MARIA)
    assert failures == []
    assert _count(database, Whys) == 8
