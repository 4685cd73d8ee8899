"""The scheduler: periodic jobs that only call in; the due work itself lives in the database."""

from apscheduler.schedulers.background import BackgroundScheduler

from bot.andon import Andon

TICK_SECONDS = 5


def start(andon: Andon) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        andon.courier.nudge,
        "interval",
        seconds=TICK_SECONDS,
        id="tick",
        max_instances=1,
        coalesce=True,
    )
    if andon.deployer is not None:
        scheduler.add_job(
            andon.deployer.tick,
            "interval",
            seconds=TICK_SECONDS,
            id="deploys",
            max_instances=1,
            coalesce=True,
        )
    scheduler.start()
    return scheduler
