"""Flag changes as the database keeps them, on SQLite and PostgreSQL: the history a page's
suspects are looked for in (by time window), the kill switch, and what evaluation reads."""

import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from core.actor import Actor
from core.clock import ManualClock
from core.config.file import AndonConfig
from core.flags import commands, evaluation, records
from core.flags.commands import Changed, Context, FlagWish
from core.flags.notices import FlagMoved
from core.refusal import Refusal
from storage.database import Database
from storage.tables import AuditEntry
from tests.notifier import RecordingNotifier
from tests.postgres import waiting_or_done

MARIA = Actor("U0MARIA", "maria", "slack")
OPS = Actor("ops", "ops", "cli")


def _ctx(session: object, notifier: RecordingNotifier, clock: ManualClock) -> Context:
    return Context(notifier=notifier.on(session), clock=clock, config=AndonConfig())  # type: ignore[arg-type]


def test_changes_in_a_window_and_the_kill_switch(
    database: Database, clock: ManualClock, notifier: RecordingNotifier
) -> None:
    with database.writing() as session:
        ctx = _ctx(session, notifier, clock)
        commands.create(session, ctx, actor=MARIA, key="new-checkout", description="checkout")
        commands.create(session, ctx, actor=MARIA, key="dark-mode")
    start = clock.now()
    for key, percentage in (("new-checkout", "30%"), ("dark-mode", "100"), ("new-checkout", "60")):
        clock.advance(timedelta(minutes=5))
        with database.writing() as session:
            wish = FlagWish(key, percentage)
            assert isinstance(
                commands.change(session, _ctx(session, notifier, clock), actor=MARIA, wish=wish),
                Changed,
            )

    with database.reading() as session:
        window = records.changes(
            session, since=start + timedelta(minutes=6), until=start + timedelta(minutes=15)
        )
    assert [(c.key, c.before, c.after, c.by.id) for c in window] == [
        ("dark-mode", 0, 100, MARIA.id),
        ("new-checkout", 30, 60, MARIA.id),
    ]

    clock.advance(timedelta(minutes=1))
    with database.writing() as session:
        off = commands.turn_off(
            session, _ctx(session, notifier, clock), actor=OPS, key="new-checkout"
        )
    assert isinstance(off, Changed) and (off.moved.before, off.moved.after) == (60, 0)
    assert notifier.notices("post")[-1] == FlagMoved(
        "new-checkout", "production", 60, 0, OPS, clock.now()
    )
    with database.writing() as session:
        again = commands.turn_off(
            session, _ctx(session, notifier, clock), actor=OPS, key="new-checkout"
        )
    assert isinstance(again, Refusal) and "already at 0%" in again.reason


def test_what_evaluation_reads(
    database: Database, clock: ManualClock, notifier: RecordingNotifier
) -> None:
    with database.engine.connect() as connection:
        assert evaluation.version(connection) == 0
        assert evaluation.percentage_of(connection, key="nope", environment="production") is None
    with database.writing() as session:
        ctx = _ctx(session, notifier, clock)
        commands.create(session, ctx, actor=MARIA, key="b-flag")
        commands.create(session, ctx, actor=MARIA, key="a-flag")
        commands.change(session, ctx, actor=MARIA, wish=FlagWish("b-flag", "40%"))
    with database.engine.connect() as connection:
        assert evaluation.percentages(connection, environment="production") == [
            ("a-flag", 0),
            ("b-flag", 40),
        ]
        assert evaluation.percentages(connection, environment="staging") == [
            ("a-flag", 0),
            ("b-flag", 0),
        ]
        assert evaluation.percentage_of(connection, key="b-flag", environment="production") == 40
        before = evaluation.version(connection)
    with database.writing() as session:
        commands.change(
            session, _ctx(session, notifier, clock), actor=MARIA, wish=FlagWish("a-flag", "100")
        )
    with database.engine.connect() as connection:
        assert evaluation.version(connection) != before


def test_a_version_moves_with_every_change_a_reader_can_see(
    database: Database, clock: ManualClock, notifier: RecordingNotifier
) -> None:
    """Two flags changed at once: whatever a reader saw before, once both are committed it
    sees a new version, so no client is told "304: unchanged" about an answer that changed —
    on PostgreSQL transactions commit in another order than their ids were handed out."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: commits follow the order of writes")
    with database.writing() as session:
        ctx = _ctx(session, notifier, clock)
        for key in ("first", "second"):
            commands.create(session, ctx, actor=MARIA, key=key)
    other = threading.Thread(target=_change, args=(database, notifier, clock, "second"))
    with database.writing() as session:
        commands.change(session, _ctx(session, notifier, clock), actor=MARIA, wish=_on("first"))
        session.flush()
        other.start()
        waiting_or_done(database, other)
        seen = _read(database)
    other.join(timeout=30)
    assert not other.is_alive()
    now = _read(database)
    assert now[1] == [("first", 100), ("second", 100)]
    assert now[0] != seen[0], (seen, now)


def _on(key: str) -> FlagWish:
    return FlagWish(key, "100")


def _change(database: Database, notifier: RecordingNotifier, clock: ManualClock, key: str) -> None:
    with database.writing() as session:
        commands.change(session, _ctx(session, notifier, clock), actor=MARIA, wish=_on(key))


def _read(database: Database) -> tuple[int, list[tuple[str, int]]]:
    with database.engine.connect() as connection:
        version = evaluation.version(connection)
        return version, evaluation.percentages(connection, environment="production")


def test_two_people_creating_one_flag_at_once_the_second_is_told_it_exists(
    database: Database, clock: ManualClock, notifier: RecordingNotifier
) -> None:
    """Both looked before either committed: the second's row meets the first's, and the second
    person reads that the flag is there (as if they had been a moment later), not an error."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: the second looks after the first commits")
    answers: list[object] = []

    def second() -> None:
        with database.writing() as session:
            answers.append(
                commands.create(session, _ctx(session, notifier, clock), actor=OPS, key="dark")
            )

    other = threading.Thread(target=second)
    with database.writing() as session:
        first = commands.create(session, _ctx(session, notifier, clock), actor=MARIA, key="dark")
        other.start()
        waiting_or_done(database, other)
    other.join(timeout=30)
    assert not other.is_alive()
    assert isinstance(first, commands.Created)
    (answer,) = answers
    assert isinstance(answer, Refusal)
    assert answer.reason == "There is already a flag `dark`; `/flag show dark` shows it."
    with database.reading() as session:
        refused = [
            row
            for row in session.exec(select(AuditEntry).where(AuditEntry.action == "flag.create"))
            if row.outcome == "refused"
        ]
    assert [(row.actor, row.detail) for row in refused] == [("ops", "dark")]
