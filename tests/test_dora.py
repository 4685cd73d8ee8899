"""The DORA figures against hand counts: a change failed only when its own release was reverted,
rolled back from, marked bad or named by a stoppage — never because a stoppage merely came soon
after — and time to restore runs from the failed release going live to what replaced it.

A week of deploys written as Andon records them, on SQLite and PostgreSQL; the digest's own
end-to-end week is in tests/test_digest.py.
"""

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from core.digest.dora import dora
from core.digest.week import Week
from core.digest.window import Window
from storage.database import Database
from storage.tables import Deploy, Release, Stoppage, StoppageCause

MONDAY = datetime(2026, 11, 16, tzinfo=UTC)
A, B, C, D, E = ("a" * 40, "b" * 40, "c" * 40, "d" * 40, "e" * 40)


def _deploy(
    session: Session, revision: str, at: datetime, *, kind: str = "deploy", ok: bool = True
) -> None:
    session.add(
        Deploy(
            kind=kind,
            environment="production",
            revision=revision,
            status="succeeded" if ok else "failed",
            requested_at=at,
            requested_by="U0MARIA",
            requested_by_name="maria",
            via="slack",
            started_at=at,
            finished_at=at,
            committed_at=at - timedelta(hours=1),
        )
    )


def _stop(session: Session, at: datetime, reason: str) -> None:
    stoppage = Stoppage(
        opened_at=at, opened_by="U0MARIA", opened_by_name="maria", opened_via="slack"
    )
    session.add(stoppage)
    session.flush()
    assert stoppage.id is not None
    session.add(
        StoppageCause(
            stoppage_id=stoppage.id,
            at=at,
            actor="U0MARIA",
            actor_name="maria",
            via="slack",
            text=reason,
        )
    )


def test_failures_are_a_changes_own_and_restore_runs_to_what_replaced_it(
    database: Database,
) -> None:
    tue = MONDAY + timedelta(days=1, hours=10)
    with database.writing() as session:
        _deploy(session, A, tue)  # stands all week
        # a manual stop 5 minutes after B that does not name it: B did not fail
        _deploy(session, B, tue + timedelta(hours=2))
        _stop(session, tue + timedelta(hours=2, minutes=5), "the office wifi is down")
        # C is rolled back from after 40 minutes: failed, restored in 40 min
        _deploy(session, C, tue + timedelta(hours=4))
        session.add(
            Release(environment="production", revision=C, bad=True, bad_reason="rolled back")
        )
        _deploy(session, B, tue + timedelta(hours=4, minutes=40), kind="rollback")
        # D failed its canary and was flipped back: failed, production never hurt (no restore)
        _deploy(session, D, tue + timedelta(hours=6), ok=False)
        # E is named by a stoppage an hour later; its fix (A again) ships 2 h after E went live
        _deploy(session, E, tue + timedelta(hours=8))
        _stop(session, tue + timedelta(hours=9), f"checkout errors since {E[:7]} went out")
        _deploy(session, A, tue + timedelta(hours=10))
    week = Week.parse("2026-W47", now=MONDAY + timedelta(days=8), timezone="UTC")
    with database.reading() as session:
        found = dora(
            session,
            Window.of(week, MONDAY + timedelta(days=8)),
            environments=["production"],
            watch=timedelta(minutes=30),
        )

    # changes: A, B, C, D, E, A (the rollback is not a change); failed: C, D, E
    assert (found.changes, found.failed_changes) == (6, 3)
    assert found.change_failure_rate == 0.5
    assert found.deploys == 5  # D failed
    # C: 40 min to the rollback; E: 2 h to the fix; D never hurt production
    assert found.restore_median_s == (40 * 60 + 2 * 3600) / 2
