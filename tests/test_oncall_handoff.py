"""An on-call handoff is told once, on SQLite and PostgreSQL, even when every replica's
scheduler notices the new shift at the same tick."""

import threading
from datetime import timedelta

from core.alerts import oncall
from core.alerts.oncall import HandedOver
from core.clock import ManualClock
from core.config.alerts import OncallConfig
from storage.database import Database
from tests.notifier import RecordingNotifier
from tests.postgres import waiting_or_done

ROTATION = OncallConfig.model_validate({"rotation": ["U0ONE", "U0TWO"], "handoff": "mon 09:00"})


def _tick(database: Database, notifier: RecordingNotifier, clock: ManualClock) -> str | None:
    """One replica's scheduler tick, in its own transaction."""
    with database.writing() as session:
        return oncall.hand_over(
            session, config=ROTATION, clock=clock, notifier=notifier.on(session)
        )


def test_the_person_on_call_hears_it_once_and_the_next_one_at_the_handoff(
    database: Database, clock: ManualClock, notifier: RecordingNotifier
) -> None:
    first = _tick(database, notifier, clock)
    assert _tick(database, notifier, clock) is None
    clock.advance(timedelta(days=7))
    second = _tick(database, notifier, clock)
    assert {first, second} == {"U0ONE", "U0TWO"}
    assert [(told.to, type(told.notice)) for told in notifier.told] == [
        (first, HandedOver),
        (second, HandedOver),
    ]


def test_two_replicas_ticking_together_tell_the_new_shift_once(
    database: Database, clock: ManualClock, notifier: RecordingNotifier
) -> None:
    """The second replica's handoff waits on the first one's (PostgreSQL: the unique handoff it
    follows; SQLite: the one writer) and, once that one commits, records and sends nothing."""
    results: list[str | None] = []
    other = threading.Thread(target=lambda: results.append(_tick(database, notifier, clock)))
    with database.writing() as session:
        told = oncall.hand_over(
            session, config=ROTATION, clock=clock, notifier=notifier.on(session)
        )
        other.start()
        if database.engine.dialect.name == "postgresql":
            waiting_or_done(database, other)
    other.join(timeout=30)
    assert not other.is_alive()
    assert told is not None and results == [None]
    assert [told_.to for told_ in notifier.told if isinstance(told_.notice, HandedOver)] == [told]
