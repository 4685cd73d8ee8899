"""The digest's chart as a reader wants it, for a busy team and for a team in Andon's first week.

History is written straight into a migrated database (the digest only reads it), the digest is
built by ``core.digest.report.build`` as the scheduled post builds it, and the chart's model —
what it shows — is checked before the PNG is drawn from it. The two PNGs are written to
``$ANDON_CHARTS`` when it is set (``ANDON_CHARTS=docs/images`` refreshes the documentation's
pictures), else to the test's folder.

Busy: ~150 deploys a week for eight weeks, a couple of stoppages, some investments, and Andon in
use since 2026-W30; the digest is asked on Thursday of 2026-W49, so that week is still running.
New: Andon's first record is on Tuesday of 2026-W49.
"""

import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import insert

from bot.render.chart import HEIGHT, SCALE, WIDTH, weekly_chart
from bot.render.chart_view import ChartView, chart_view
from core import audit
from core.actor import Actor
from core.audit import Outcome
from core.clock import ManualClock
from core.config.file import AndonConfig
from core.digest import report
from core.digest.report import Digest
from core.digest.week import Week
from storage import migrate
from storage.database import Database
from storage.tables import ActionItem, Deploy, Stoppage

THIS = Week(2026, 49)  # Monday 2026-11-30
NOW = THIS.start + timedelta(days=3, hours=15)  # Thursday 15:00: the week is still running
CONFIG = AndonConfig.model_validate({})
WEEKS = [THIS.previous(back) for back in range(7, -1, -1)]  # 2026-W42 … 2026-W49
BUSY = {  # week → deploys, stoppages, investments
    "2026-W42": (148, 2, 1),
    "2026-W43": (152, 1, 3),
    "2026-W44": (161, 2, 2),
    "2026-W45": (139, 0, 4),
    "2026-W46": (155, 1, 2),
    "2026-W47": (149, 2, 5),
    "2026-W48": (158, 0, 3),
    "2026-W49": (71, 1, 2),  # Monday to Thursday afternoon
}


def _deploy(at: datetime) -> dict[str, Any]:
    return {
        "kind": "deploy",
        "environment": "production",
        "revision": f"{at.timestamp():040.0f}"[-40:],
        "status": "succeeded",
        "requested_at": at,
        "requested_by": "U0DEPLOY",
        "requested_by_name": "deployer",
        "via": "auto",
        "started_at": at,
        "finished_at": at + timedelta(minutes=2),
        "migrated": False,
    }


def _stoppage(at: datetime) -> dict[str, Any]:
    return {
        "state": "closed",
        "opened_at": at,
        "opened_by": "andon",
        "opened_by_name": "andon",
        "opened_via": "ci",
        "closed_at": at + timedelta(minutes=30),
        "closed_by": "U0MARIA",
        "closed_by_name": "maria",
        "closed_via": "slack",
    }


def _item(at: datetime, n: int) -> dict[str, Any]:
    """The ``n``-th investment: up to five levels of whys per stoppage."""
    return {
        "stoppage_id": n // 5 + 1,
        "level": n % 5 + 1,
        "text": "a fake for the payment API",
        "status": "open",
        "owner": "U0MARIA",
        "owner_name": "maria",
        "due": (at + timedelta(days=7)).date(),
        "category": "tests/CI",
        "created_by": "U0MARIA",
        "created_at": at,
    }


def _spread(week: Week, count: int, *, hours: float) -> list[datetime]:
    """``count`` moments spread over the first ``hours`` of the week."""
    return [week.start + timedelta(hours=hours * (n + 0.5) / count) for n in range(count)]


def _history(
    database: Database, weeks: dict[str, tuple[int, int, int]], *, first: datetime
) -> None:
    with database.writing() as session:
        audit.record(
            session,
            clock=ManualClock(first),
            actor=Actor(id="U0MARIA", name="maria", via="slack"),
            action="line.stop",
            outcome=Outcome.OK,
        )
        deploys, stops, items = [], [], []
        for week in WEEKS:
            if week.label not in weeks:
                continue
            hours = (min(NOW, week.end) - week.start).total_seconds() / 3600 - 1
            count, stoppages, investments = weeks[week.label]
            deploys += [_deploy(at) for at in _spread(week, count, hours=hours)]
            stops += [_stoppage(at) for at in _spread(week, stoppages, hours=hours)]
            items += _spread(week, investments, hours=hours)
        session.execute(insert(Deploy), deploys)
        session.execute(insert(Stoppage), stops)
        session.flush()
        session.execute(insert(ActionItem), [_item(at, n) for n, at in enumerate(items)])


def _digest(url: str, weeks: dict[str, tuple[int, int, int]], *, first: datetime) -> Digest:
    database = Database(url)
    try:
        migrate.upgrade(database)
        _history(database, weeks, first=first)
        with database.reading() as session:
            return report.build(session, week=THIS, config=CONFIG, now=NOW)
    finally:
        database.dispose()


BUSY_SINCE = datetime(2026, 7, 21, 10, tzinfo=UTC)  # Andon in use since 2026-W30
NEW_SINCE = THIS.start + timedelta(days=1, hours=10)  # Tuesday of 2026-W49
NEW = {"2026-W49": (6, 1, 2)}


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> ChartView:
    url = f"sqlite:///{tmp_path_factory.mktemp('busy') / 'andon.db'}"
    return chart_view(_digest(url, BUSY, first=BUSY_SINCE))


@pytest.fixture(scope="module")
def new(tmp_path_factory: pytest.TempPathFactory) -> ChartView:
    url = f"sqlite:///{tmp_path_factory.mktemp('new') / 'andon.db'}"
    return chart_view(_digest(url, NEW, first=NEW_SINCE))


@pytest.fixture
def charts(tmp_path: Path) -> Iterator[Path]:
    folder = Path(os.environ.get("ANDON_CHARTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    yield folder


def _drawn(view: ChartView, where: Path) -> Image.Image:
    png = weekly_chart(view)
    where.write_bytes(png)
    return Image.open(io.BytesIO(png))


def test_a_busy_teams_chart_shows_eight_weeks_the_last_so_far_deploys_apart(
    busy: ChartView,
) -> None:
    assert busy.title == "Stoppages, investments and deploys: weeks 2026-W42 to W49"
    assert [w.label for w in busy.weeks] == [f"W{n}" for n in range(42, 50)]
    assert [(w.deploys, w.stoppages, w.investments) for w in busy.weeks] == list(BUSY.values())
    assert [w.week for w in busy.weeks if w.partial] == ["2026-W49"]
    assert "W49 is still running" in busy.subtitle
    # deploys on their own axis: two stoppages stay a quarter of their panel, not a sliver
    assert (busy.deploys.top, busy.counts.top) == (200, 8)


def test_a_new_teams_chart_shows_only_andons_first_week(new: ChartView) -> None:
    assert new.title == "Stoppages, investments and deploys: week 2026-W49"
    assert [(w.week, w.partial) for w in new.weeks] == [("2026-W49", True)]
    assert (new.weeks[0].deploys, new.weeks[0].stoppages, new.weeks[0].investments) == (6, 1, 2)


def test_the_weeks_before_the_first_record_are_left_out_on_either_database(
    database_url: str,
) -> None:
    digest = _digest(database_url, NEW, first=NEW_SINCE)
    assert len(digest.trend) == 8  # the figures keep eight weeks; the chart shows one
    assert digest.since == "2026-W49"
    assert [w.week for w in chart_view(digest).weeks] == ["2026-W49"]


def test_the_two_charts_are_drawn_at_twice_their_size(
    busy: ChartView, new: ChartView, charts: Path
) -> None:
    for view, name in ((busy, "digest-busy.png"), (new, "digest-new.png")):
        image = _drawn(view, charts / name)
        assert (image.format, image.size) == ("PNG", (WIDTH * SCALE, HEIGHT * SCALE))
        assert image.size == (1920, 1240)


def test_a_complete_week_is_not_marked_and_a_week_before_andon_shows_nothing() -> None:
    from bot.render.chart_view import view_of
    from core.digest.trend import WeekTotals

    weeks = [WeekTotals(w.label, deploys=3, stoppages=1, investments=0) for w in WEEKS]
    done = view_of(weeks, since="2026-W48", complete=True, timezone="Europe/Paris")
    assert [(w.label, w.partial) for w in done.weeks] == [("W48", False), ("W49", False)]
    assert done.title.endswith("weeks 2026-W48 to W49")
    assert "still running" not in done.subtitle and "(Europe/Paris)" in done.subtitle

    early = view_of(weeks, since="2027-W02", complete=True, timezone="UTC")
    assert early.weeks == () and early.title.endswith("nothing recorded by 2026-W49")
    assert weekly_chart(early).startswith(b"\x89PNG")

    across = [WeekTotals(label, 1, 0, 0) for label in ("2026-W52", "2026-W53", "2027-W01")]
    spanning = view_of(across, since="2026-W01", complete=False, timezone="UTC")
    assert spanning.title.endswith("weeks 2026-W52 to 2027-W01")
