"""The digest's overdue items on SQLite and PostgreSQL: a message names the first five, by due
date, and counts the rest; an export (``andon digest --format json``) lists every one."""

import json
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session

from bot.render import digest as render
from core.config.file import AndonConfig
from core.digest import report
from core.digest.week import Week
from storage.database import Database
from storage.tables import ActionItem, Stoppage

MONDAY = datetime(2026, 11, 16, tzinfo=UTC)
W47 = Week.containing(MONDAY, "UTC")
NOW = MONDAY + timedelta(days=8)


def _items(session: Session, dues: list[date], *, done_at: datetime | None = None) -> None:
    stoppage = Stoppage(
        opened_at=MONDAY - timedelta(days=20),
        opened_by="U0MARIA",
        opened_by_name="maria",
        opened_via="slack",
    )
    session.add(stoppage)
    session.flush()
    assert stoppage.id is not None
    for level, due in enumerate(dues, start=1):
        session.add(
            ActionItem(
                stoppage_id=stoppage.id,
                level=level,
                text=f"fix number {level}",
                owner="U0BEN",
                owner_name="ben",
                due=due,
                created_by="U0MARIA",
                created_at=MONDAY - timedelta(days=20),
                done_at=done_at,
                status="open" if done_at is None else "done",
            )
        )


def test_a_message_names_five_overdue_items_and_counts_the_rest(database: Database) -> None:
    with database.writing() as session:
        _items(session, [date(2026, 11, day) for day in (12, 3, 9, 1, 5)])
        _items(session, [date(2026, 11, 2), date(2026, 11, 4)])
        _items(session, [date(2026, 11, 6)], done_at=MONDAY)  # done in time: not late
    with database.reading() as session:
        digest = report.build(session, week=W47, config=AndonConfig(), now=NOW)
    made = digest.this.investments
    assert made.overdue_count == 7
    assert [item.due.day for item in made.overdue] == [1, 2, 3, 4, 5]
    assert "Overdue: 7 — fix number 4 (@ben, due Nov 01)" in render.text(digest)
    assert "; and 2 more" in render.text(digest)


def test_an_export_lists_every_overdue_item(database: Database) -> None:
    with database.writing() as session:
        _items(session, [date(2026, 11, day) for day in range(1, 9)])
    with database.reading() as session:
        digest = report.build(session, week=W47, config=AndonConfig(), now=NOW, listed=None)
    exported = json.loads(render.as_json(digest))["this"]["investments"]
    assert exported["overdue_count"] == 8
    assert [item["due"] for item in exported["overdue"]] == [
        f"2026-11-{day:02d}" for day in range(1, 9)
    ]
