"""The hook's short way on the database path (``bot.githooks.gate_quick``) answers a push that
needs only a running line exactly as the full way does — the same answer for the pusher, the
same audit row — and leaves every other push to the full way: a stopped line, a config changed
since the full way last read it (a broken one is refused with its problems, as before).

In-process, on a SQLite file (the short way speaks only SQLite): ``gate_ask.database`` is what
the hook's command calls when there is no ``ANDON_URL``; tests/test_gate.py pushes through git.
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.githooks import gate_ask, gate_quick
from core import line
from core.actor import Actor
from core.clock import ManualClock
from core.config.file import ConfigError, load
from storage import migrate
from storage.database import Database
from storage.tables import AuditEntry
from tests.notifier import RecordingNotifier

MARIA = Actor("U0MARIA", "maria", "slack")
A, B, C = "a" * 40, "b" * 40, "c" * 40


def _body(old: str, new: str, ref: str = "refs/heads/main") -> dict[str, Any]:
    commit = {"sha": new, "subject": "Add the cart", "refs": [ref]}
    return {"refs": [{"old": old, "new": new, "ref": ref}], "commits": [commit], "pusher": "dana"}


@pytest.fixture
def hooked(tmp_path: Path) -> tuple[dict[str, str], Database]:
    (tmp_path / "repo.git").mkdir()
    (tmp_path / "andon.toml").write_text(f'[repo]\npath = "{tmp_path / "repo.git"}"\n')
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    database = Database(url)
    migrate.upgrade(database)
    environ = {
        "ANDON_DATABASE_URL": url,
        "ANDON_CONFIG": str(tmp_path / "andon.toml"),
        "GIT_DIR": str(tmp_path / "repo.git"),
    }
    return environ, database


def _audited(database: Database) -> list[tuple[object, ...]]:
    with database.reading() as session:
        rows = session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()
        return [
            (r.actor, r.actor_name, r.via, r.action, r.detail, r.outcome, r.message) for r in rows
        ]


def test_a_push_to_a_running_line_is_answered_and_audited_the_same_both_ways(
    hooked: tuple[dict[str, str], Database],
) -> None:
    environ, database = hooked
    assert gate_quick.answer(environ, _body(A, B)) is None  # no stamp yet: the full way
    first = gate_ask.database(environ, _body(A, B))
    again = gate_quick.answer(environ, _body(B, C))  # the stamp is of this config: short
    elsewhere = gate_quick.answer(environ, _body(A, C, "refs/heads/feature"))

    assert first == again == elsewhere == (True, "", True)
    assert _audited(database) == [
        ("dana", "dana", "git", "gate.push", "refs/heads/main aaaaaaa..bbbbbbb", "ok", ""),
        ("dana", "dana", "git", "gate.push", "refs/heads/main bbbbbbb..ccccccc", "ok", ""),
        ("dana", "dana", "git", "gate.push", "refs/heads/feature aaaaaaa..ccccccc", "ok", ""),
    ]
    with database.reading() as session:  # the ORM reads the short way's time as its own
        times = session.exec(select(AuditEntry.at)).all()
    assert all(t.tzinfo == UTC and abs(datetime.now(UTC) - t).total_seconds() < 600 for t in times)


def test_a_stopped_line_and_a_changed_config_go_the_full_way(
    hooked: tuple[dict[str, str], Database],
) -> None:
    environ, database = hooked
    gate_ask.database(environ, _body(A, B))
    with database.writing() as session:
        told = RecordingNotifier().on(session)
        clock = ManualClock(datetime(2026, 11, 17, 14, 2, tzinfo=UTC))
        line.stop(session, notifier=told, clock=clock, actor=MARIA, reason="CI is red")

    assert gate_quick.answer(environ, _body(B, C)) is None
    allow, message, _ = gate_ask.database(environ, _body(B, C))
    assert not allow
    assert message.startswith("Andon: the line is stopped — push to main refused.")

    Path(environ["ANDON_CONFIG"]).write_text("[gate]\nfail_open = maybe\n")
    assert gate_quick.answer(environ, _body(A, C, "refs/heads/feature")) is None
    with pytest.raises(gate_ask.UnansweredError) as refused:
        gate_ask.database(environ, _body(A, C, "refs/heads/feature"))
    with pytest.raises(ConfigError) as problems:
        load(environ["ANDON_CONFIG"])
    assert str(refused.value) == str(problems.value)  # the file's problems, as before
