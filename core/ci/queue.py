"""The local runner's queue: pushed revisions wait in the database until a runner claims them.

The queue lives in the database, not in the runner's memory, because the git hook that fills it
runs in another process (the push) and because a runner that crashes must not lose its job: a
claim is a lease, and a job whose lease ran out is claimed again.
"""

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from core.ci.report import FULL_SHA
from core.clock import Clock
from storage.tables import CiJob

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
_CLAIM_TRIES = 5


def enqueue(session: Session, *, clock: Clock, revision: str, branch: str | None) -> bool:
    """Queue a pushed revision; False when it already waits or runs, so a re-push runs it once.

    The same revision pushed to another branch is queued again: the result is recorded per branch,
    and only a result on the line's branch can stop the line or say it is fixed.
    """
    if not FULL_SHA.fullmatch(revision):  # match() would let a trailing newline through
        raise ValueError(f"{revision[:60]!r} is not a 40-hex lower-case commit sha")
    waiting = select(CiJob.id).where(
        CiJob.revision == revision,
        CiJob.branch == branch if branch is not None else col(CiJob.branch).is_(None),
        col(CiJob.status).in_([QUEUED, RUNNING]),
    )
    if session.exec(waiting).first() is not None:
        return False
    session.add(CiJob(revision=revision, branch=branch, status=QUEUED, queued_at=clock.now()))
    session.flush()
    return True


def claim(session: Session, *, clock: Clock, lease: timedelta) -> CiJob | None:
    """The oldest job to run — queued, or running under a lease that ran out (a crashed runner's).

    The claim is one conditional UPDATE that only matches while the job is still free, so of two
    runners racing for one job exactly one sees its row change; the other looks for the next.
    """
    now = clock.now()
    for _ in range(_CLAIM_TRIES):
        found = session.exec(
            select(CiJob.id).where(_free(now)).order_by(col(CiJob.id)).limit(1)
        ).first()
        if found is None:
            return None
        taken = session.execute(
            update(CiJob)
            .where(col(CiJob.id) == found, _free(now))
            .values(status=RUNNING, started_at=now, finished_at=None, claimed_until=now + lease)
        )
        if taken.rowcount == 1:
            return session.get(CiJob, found, populate_existing=True)
    return None


def renew(session: Session, *, clock: Clock, job: CiJob, lease: timedelta) -> bool:
    """Keep a long run's lease alive; False when another runner has since claimed the job.

    A short lease renewed while the command runs lets a crashed runner's job be retried within
    one lease, whatever the command's own time limit. The claim's start time tells this runner's
    claim from a later one, so a runner that stalled past its lease cannot extend another's.
    """
    now = clock.now()
    renewed = session.execute(
        update(CiJob)
        .where(
            col(CiJob.id) == job.id,
            col(CiJob.status) == RUNNING,
            col(CiJob.started_at) == job.started_at,
        )
        .values(claimed_until=now + lease)
    )
    return renewed.rowcount == 1


def finish(session: Session, *, clock: Clock, job_id: int) -> None:
    """The result is recorded: the job leaves the queue for good and is never claimed again."""
    session.execute(
        update(CiJob)
        .where(col(CiJob.id) == job_id)
        .values(status=DONE, finished_at=clock.now(), claimed_until=None)
    )


def _free(now: datetime):  # type: ignore[no-untyped-def]
    """Queued, or claimed by a runner that stopped renewing its lease."""
    return or_(
        col(CiJob.status) == QUEUED,
        and_(
            col(CiJob.status) == RUNNING,
            or_(col(CiJob.claimed_until).is_(None), col(CiJob.claimed_until) < now),
        ),
    )
