"""A row written at once (``storage.database.inserted``, the hot paths' rows) reads back as the
ORM would have written it, on SQLite and PostgreSQL: times in UTC, JSON, the columns' own
defaults, a conflict that writes nothing, a constraint broken that raises as SQLAlchemy raises."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from core.ci.results import IDENTITY
from storage.database import Database, inserted
from storage.tables import AuditEntry, OutboxMessage
from storage.tables.ci import CiResult
from storage.tables.records import InboundDelivery

T0 = datetime(2026, 12, 6, 3, 4, 5, 678901, tzinfo=UTC)


def _result(**changes: object) -> dict[str, object]:
    return {
        "provider": "generic",
        "revision": "a" * 40,
        "branch": "feature/x",
        "pipeline": "tests",
        "status": "failed",
        "duration_s": 61.5,
        "failed_tests": [{"name": "test_pay", "message": "expected 3 \u2014 got 4"}],
        "received_at": T0,
        **changes,
    }


def test_a_result_reads_back_whole_with_the_columns_it_left_to_their_defaults(
    database: Database,
) -> None:
    with database.adding() as rows:
        row_id = inserted(rows, CiResult, _result())
    with database.reading() as session:
        stored = session.get(CiResult, row_id)
    assert stored is not None
    assert (stored.revision, stored.status, stored.duration_s) == ("a" * 40, "failed", 61.5)
    assert stored.failed_tests == [{"name": "test_pay", "message": "expected 3 \u2014 got 4"}]
    assert stored.received_at.replace(tzinfo=UTC) == T0
    assert (stored.run_id, stored.label, stored.url) == ("", None, None)


def test_a_second_copy_of_a_unique_row_writes_nothing_and_says_so(database: Database) -> None:
    with database.adding() as rows:
        first = inserted(rows, CiResult, _result(), unless=IDENTITY)
        again = inserted(rows, CiResult, _result(duration_s=3.0), unless=IDENTITY)
    assert first is not None and again is None
    with database.reading() as session:
        assert [r.duration_s for r in session.exec(select(CiResult)).all()] == [61.5]


def test_a_broken_constraint_raises_as_sqlalchemy_raises_and_the_unit_writes_nothing(
    database: Database,
) -> None:
    key = {"source": "ci:github", "key": "d-1", "at": T0}
    with pytest.raises(IntegrityError), database.adding() as rows:
        inserted(rows, AuditEntry, _audit("written, then rolled back"))
        inserted(rows, InboundDelivery, key)
        inserted(rows, InboundDelivery, key)
    with database.reading() as session:
        assert session.exec(select(AuditEntry)).all() == []
        assert session.exec(select(InboundDelivery)).all() == []


def test_an_audit_row_and_a_message_in_a_session_land_with_its_commit(database: Database) -> None:
    with database.writing() as session:
        inserted(session, AuditEntry, _audit("deploy abc1234 to production"))
        message = {
            "created_at": T0,
            "kind": "post",
            "lane": "C0LINE001",
            "target": "C0LINE001",
            "payload": {"text": "Line stopped by <@U0MARIA>", "blocks": []},
            "next_attempt_at": T0,
        }
        message_id = inserted(session, OutboxMessage, message)
    with database.reading() as session:
        (audit,) = session.exec(select(AuditEntry)).all()
        sent = session.get(OutboxMessage, message_id)
    assert (audit.detail, audit.outcome, audit.at.replace(tzinfo=UTC)) == (
        "deploy abc1234 to production",
        "ok",
        T0,
    )
    assert sent is not None
    assert sent.payload == {"text": "Line stopped by <@U0MARIA>", "blocks": []}
    assert (sent.status, sent.attempts, sent.claimed_until) == ("pending", 0, None)


def _audit(detail: str) -> dict[str, object]:
    return {
        "at": T0,
        "actor": "U0MARIA",
        "actor_name": "maria",
        "via": "slack",
        "action": "deploy",
        "detail": detail,
        "outcome": "ok",
        "message": "",
    }


def test_a_listener_of_the_engines_statements_hears_a_row_written_at_once(
    database: Database,
) -> None:
    heard: list[str] = []

    def hear(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        heard.append(statement)

    event.listen(database.writer, "before_cursor_execute", hear)
    try:
        with database.adding() as rows:
            row_id = inserted(rows, AuditEntry, _audit("rollback to abc1234"))
    finally:
        event.remove(database.writer, "before_cursor_execute", hear)
    assert [s.split(" (")[0] for s in heard] == ["INSERT INTO audit_entry"]
    with database.reading() as session:
        assert session.get(AuditEntry, row_id).detail == "rollback to abc1234"


def test_a_row_naming_a_column_its_table_lacks_is_refused_naming_it(database: Database) -> None:
    refused = pytest.raises(TypeError, match="inbound_delivery has no column received_at")
    row = {"source": "ci:github", "key": "d-2", "received_at": T0}
    with refused, database.adding() as rows:
        inserted(rows, InboundDelivery, row)
