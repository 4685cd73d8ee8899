"""A delivery prepares its pages' messages before it locks the line's row (on PostgreSQL that
lock is held to the commit, and a storm's new pages queue for it): when the line starts or stops
in between, what it prepared is thrown away and it is told again, for the line as it is."""

import json
import threading
from datetime import UTC, datetime

from sqlmodel import col, select

from bot.bus.unit import Units
from bot.outbox.notifier import Outbox
from bot.render import notice
from core import line
from core.actor import Actor
from core.alerts import paging
from core.alerts.event import AlertEvent, AlertStatus
from core.clock import ManualClock
from core.config.file import AndonConfig
from core.whys import rule as whys_rule
from storage.database import Database
from storage.tables import OutboxMessage, Page
from tests.postgres import waiting_or_done

CHANNEL = "C0LINE001"
MARIA = Actor("U0MARIA", "maria", "slack")
T0 = datetime(2026, 11, 23, 14, 2, tzinfo=UTC)
CONFIG = AndonConfig.model_validate({"oncall": {"rotation": ["U0ONCALL"]}})
DISK = AlertEvent(
    source="alertmanager",
    key="fp-disk",
    name="DiskFull",
    status=AlertStatus.FIRING,
    summary="/var is 97% full on db-1",
    severity="critical",
)


def _stop(database: Database, clock: ManualClock) -> int:
    with database.writing() as session:
        outbox = Outbox(session, channel=CHANNEL, clock=clock, render=notice)
        stopped = line.stop(session, notifier=outbox, clock=clock, actor=MARIA, reason="CI red")
    assert isinstance(stopped, line.Stopped)
    return stopped.stoppage.id


def _page(database: Database, clock: ManualClock) -> paging.AlertsRecorded:
    units = Units(database, channel=CHANNEL, clock=clock)
    return paging.record(
        units=units, clock=clock, config=CONFIG, events=[DISK], source="alertmanager"
    )


def _said(database: Database) -> list[tuple[str, str]]:
    """What the outbox holds for Slack: each message's kind, and all it shows (text, blocks)."""
    with database.reading() as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
    return [(row.kind, json.dumps(row.payload)) for row in rows]


def test_a_page_delivered_while_the_line_starts_opens_a_new_stoppage(
    database: Database,
) -> None:
    """The delivery first sees the line stopped; by the time it holds the line's lock, the line
    runs: the page opens a stoppage of its own, and nobody reads that it joined the old one."""
    clock = ManualClock(T0)
    first = _stop(database, clock)
    recorded: list[paging.AlertsRecorded] = []
    delivery = threading.Thread(target=lambda: recorded.append(_page(database, clock)))
    with database.writing() as session:
        outbox = Outbox(session, channel=CHANNEL, clock=clock, render=notice)
        whys_rule.schedule(session, notifier=outbox, clock=clock, actor=MARIA, when="in 1h")
        assert isinstance(
            line.start(session, notifier=outbox, clock=clock, actor=MARIA), line.Started
        )
        delivery.start()
        if database.engine.dialect.name == "postgresql":
            waiting_or_done(database, delivery)  # the delivery waits for the line's lock
    delivery.join(timeout=30)
    assert not delivery.is_alive() and recorded[0].paged == 1

    with database.reading() as session:
        now = line.current(session)
        (page,) = session.exec(select(Page)).all()
    assert now.state == line.LineState.STOPPED and now.stoppage_id not in (None, first)
    assert page.stoppage_id == now.stoppage_id
    said = _said(database)
    assert not [shown for _, shown in said if f"another cause of stoppage #{first}" in shown]
    stops = [shown for kind, shown in said if kind == "post" and "Line stopped by" in shown]
    assert len(stops) == 2 and "DiskFull" in stops[1]
    assert [kind for kind, shown in said if "DiskFull" in shown].count("dm") == 1
