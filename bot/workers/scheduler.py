"""The scheduler: periodic jobs that only call in; the due work itself lives in the database."""

from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from bot.andon import Andon
from bot.workers import digests
from bot.workers.checks import Checker
from core import deliveries

TICK_SECONDS = 5.0  # ANDON_TICK_SECONDS overrides it (tests of a running serve use less)


def start(
    andon: Andon, *, checker: Checker | None = None, every: float = TICK_SECONDS
) -> BackgroundScheduler:
    """Every job on one tick of ``every`` seconds: due work is found in the database, not here."""
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        andon.courier.nudge,
        "interval",
        seconds=every,
        id="tick",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        andon.tick_pages,
        "interval",
        seconds=every,
        id="pages",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        andon.tick_whys,
        "interval",
        seconds=every,
        id="whys",
        max_instances=1,
        coalesce=True,
    )
    if andon.config.digest is not None:
        scheduler.add_job(
            digests.post_due,
            "interval",
            args=(andon,),
            seconds=every,
            id="digest",
            max_instances=1,
            coalesce=True,
        )
    if checker is not None:
        scheduler.add_job(
            checker.tick,
            "interval",
            seconds=every,
            id="checks",
            max_instances=1,
            coalesce=True,
        )
    if andon.deployer is not None:
        scheduler.add_job(
            andon.deployer.tick,
            "interval",
            seconds=every,
            id="deploys",
            max_instances=1,
            coalesce=True,
        )
    scheduler.add_job(
        forget_old_deliveries,
        "interval",
        args=(andon,),
        hours=1,
        next_run_time=datetime.now(UTC),  # also at start: a process may not live an hour
        id="deliveries",
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    return scheduler


def forget_old_deliveries(andon: Andon) -> int:
    """The scheduler's call: request keys too old to match a retry or a replay are dropped."""
    with andon.database.writing() as session:
        return deliveries.forget_old(session, clock=andon.clock)
