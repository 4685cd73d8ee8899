"""The scheduler: periodic jobs that only call in; the due work itself lives in the database."""

from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from bot.andon import Andon
from bot.workers import digests
from bot.workers.checks import Checker
from core import deliveries

TICK_SECONDS = 5.0  # ANDON_TICK_SECONDS overrides it (tests of a running serve use less)
SWEEP_SECONDS = 1.0  # a dead replica's deploy is swept at most this long after its lease ran out

Job = tuple[str, Callable[..., object], tuple[object, ...]]  # id, call, its arguments


def start(
    andon: Andon, *, checker: Checker | None = None, every: float = TICK_SECONDS
) -> BackgroundScheduler:
    """Every job on one tick of ``every`` seconds: due work is found in the database, not here."""
    scheduler = BackgroundScheduler(timezone="UTC")
    for job_id, call, args in on_the_tick(andon, checker=checker):
        scheduler.add_job(
            call, "interval", args=args, seconds=every, id=job_id, max_instances=1, coalesce=True
        )
    if andon.deployer is not None:
        scheduler.add_job(
            andon.deployer.sweep,
            "interval",
            seconds=min(every, SWEEP_SECONDS),
            id="sweep",
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


def on_the_tick(andon: Andon, *, checker: Checker | None) -> list[Job]:
    """The jobs of every tick, in the order they are added: the optional ones only when on."""
    jobs: list[Job] = [
        ("tick", andon.courier.nudge, ()),
        ("pages", andon.tick_pages, ()),
        ("whys", andon.tick_whys, ()),
    ]
    if andon.config.digest is not None:
        jobs.append(("digest", digests.post_due, (andon,)))
    if checker is not None:
        jobs.append(("checks", checker.tick, ()))
    if andon.deployer is not None:
        jobs.append(("deploys", andon.deployer.tick, ()))
    if andon.flag_watcher is not None:
        jobs.append(("flag watches", andon.flag_watcher.tick, ()))
    return jobs


def forget_old_deliveries(andon: Andon) -> int:
    """The scheduler's call: request keys too old to match a retry or a replay are dropped."""
    with andon.database.writing() as session:
        return deliveries.forget_old(session, clock=andon.clock)
