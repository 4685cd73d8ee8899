"""Open pull and merge requests carry the line's state as a commit status, ``andon/line``.

Teams on a hosted forge cannot run a pre-receive hook; a required status check blocks merges
instead. Webhooks tell Andon which heads are open (``track``); a reconcile round publishes the
line's state wherever what a head shows differs from what the line says now (``publish_due``),
so a crash or a forge outage only delays a status, it never loses one. Every replica runs the
round: a head is claimed with a short lease before its status goes out (as the courier claims an
outbox row), and what the forge shows is written before the claim is let go, so N replicas publish
each change once; a dead replica's claim is taken over when its lease runs out.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from sqlalchemy import ColumnElement, or_, update
from sqlmodel import Session, col, select

from core import claims
from core.clock import Clock
from core.line import LineState, LineStatus, peek
from storage.database import Database
from storage.tables import ReviewHead

CONTEXT = "andon/line"
MAX_DESCRIPTION = 140  # GitHub refuses longer descriptions
RETRY_AFTER = timedelta(seconds=5)  # a head the forge refused waits this long before a retry
CLAIM = timedelta(seconds=30)  # a publish is one forge call of 20 s at most
MAX_ERROR = 2000

StatusState = Literal["success", "failure"]


class ForgeError(Exception):
    """The forge did not take the status; the head stays due and is tried again later."""


class ForgePort(Protocol):
    """A forge's commit status API, as ``core`` needs it."""

    def publish(self, project: str, sha: str, state: StatusState, description: str) -> None:
        """Set ``andon/line`` on the commit; raise ``ForgeError`` when the forge refuses."""
        ...


@dataclass(frozen=True)
class ReviewEvent:
    """A pull or merge request opened, moved to a new head, or closed, as a webhook said."""

    forge: str
    project: str
    number: int
    head_sha: str
    open: bool


@dataclass(frozen=True)
class Wanted:
    """What every open head should show while the line is as it is now."""

    state: StatusState
    description: str


@dataclass(frozen=True)
class Round:
    """One reconcile round: how many statuses the forges took and how many they refused."""

    published: int
    failed: int
    errors: tuple[str, ...] = field(default=(), compare=False)  # what the forges said, for logs


def track(
    session: Session,
    *,
    clock: Clock,
    forge: str,
    project: str,
    number: int,
    head_sha: str,
    open: bool,
) -> ReviewHead:
    """Remember a request's head (or that it closed), so each change of the line reaches it."""
    head = session.exec(
        select(ReviewHead).where(
            ReviewHead.forge == forge, ReviewHead.project == project, ReviewHead.number == number
        )
    ).first()
    if head is None:
        head = ReviewHead(forge=forge, project=project, number=number, head_sha=head_sha)
    if head.head_sha != head_sha:
        head.last_error = None  # the refusal was about the old head
    head.head_sha, head.open, head.updated_at = head_sha, open, clock.now()
    session.add(head)
    session.flush()
    return head


def wanted(status: LineStatus) -> Wanted:
    """``failure`` while the line is stopped, with why; ``success`` while it runs."""
    if status.state == LineState.RUNNING or status.stoppage is None:
        return Wanted("success", "Line runs")
    prefix, suffix = "Line stopped: ", f" (stoppage #{status.stoppage.id})"
    room = MAX_DESCRIPTION - len(prefix) - len(suffix)
    reason = status.stoppage.reason
    if len(reason) > room:
        reason = reason[: room - 1].rstrip() + "…"
    return Wanted("failure", f"{prefix}{reason}{suffix}")


def due(
    session: Session,
    *,
    clock: Clock,
    retry_after: timedelta = RETRY_AFTER,
    want: Wanted | None = None,
) -> list[ReviewHead]:
    """The open heads that do not show the line's state yet, and that no replica holds; a
    refused one after a pause (``want``: the state as the caller read it already)."""
    want = want or wanted(peek(session, clock=clock))
    now = clock.now()
    heads = session.exec(
        select(ReviewHead)
        .where(col(ReviewHead.open).is_(True), _unclaimed(now))
        .order_by(col(ReviewHead.id))
    )
    return [
        head
        for head in heads
        if (head.published, head.published_sha) != (want.state, head.head_sha)
        and (head.last_error is None or head.updated_at + retry_after <= now)
    ]


def publish_due(
    database: Database,
    *,
    clock: Clock,
    forges: Mapping[str, ForgePort],
    holder: str,
    retry_after: timedelta = RETRY_AFTER,
) -> Round:
    """Publish the line's state on every due head this replica wins; a forge's refusal never
    stops the others.

    The forges are called outside any transaction: what was published is written afterwards, so a
    head that moved meanwhile is simply due again in the next round.
    """
    with database.reading() as session:
        work = [
            (head.id, head.forge, head.project, head.head_sha)
            for head in due(session, clock=clock, retry_after=retry_after)
            if head.forge in forges
        ]
    published, errors = 0, []
    for head_id, forge, project, sha in work:
        assert head_id is not None
        with database.writing() as session:
            want = claim(
                session,
                clock=clock,
                head_id=head_id,
                sha=sha,
                holder=holder,
                retry_after=retry_after,
            )
        if want is None:
            continue  # another replica holds it, or published it meanwhile
        try:
            forges[forge].publish(project, sha, want.state, want.description)
        except ForgeError as refused:
            error = str(refused) or type(refused).__name__
            errors.append(f"{forge} {project} {sha[:7]}: {error}")
            _remember(database, head_id, clock=clock, holder=holder, sha=sha, error=error)
            continue
        published += 1
        _remember(database, head_id, clock=clock, holder=holder, sha=sha, shown=want.state)
    return Round(published, len(errors), tuple(errors))


def claim(
    session: Session,
    *,
    clock: Clock,
    head_id: int,
    sha: str,
    holder: str,
    retry_after: timedelta = RETRY_AFTER,
) -> Wanted | None:
    """Take a head for ``holder`` while it is still ``sha`` and still due, with what it is to
    show: one conditional update decides between replicas, and a head another one published
    meanwhile is not published again."""
    want = wanted(peek(session, clock=clock))
    now = clock.now()
    shown = (col(ReviewHead.published), col(ReviewHead.published_sha))
    taken = session.execute(
        update(ReviewHead)
        .where(
            col(ReviewHead.id) == head_id,
            col(ReviewHead.open).is_(True),
            col(ReviewHead.head_sha) == sha,
            or_(shown[0].is_(None), shown[0] != want.state, shown[1].is_(None), shown[1] != sha),
            or_(
                col(ReviewHead.last_error).is_(None),
                col(ReviewHead.updated_at) <= now - retry_after,
            ),
            _unclaimed(now),
        )
        .values(claimed_until=now + CLAIM, claimed_by=holder)
    )
    return want if taken.rowcount == 1 else None


def claimants(session: Session) -> list[str]:
    """Who holds a head now: a replica that died is found among them and let go of."""
    return claims.holders(session, ReviewHead)


def release(session: Session, *, holders: list[str]) -> int:
    """Free the heads of replicas that are gone, so a restarted Andon publishes them at once."""
    return claims.let_go(session, ReviewHead, holders=holders)


def _unclaimed(now: datetime) -> ColumnElement[bool]:
    return or_(col(ReviewHead.claimed_until).is_(None), col(ReviewHead.claimed_until) < now)


def _remember(
    database: Database,
    head_id: int,
    *,
    clock: Clock,
    holder: str,
    sha: str,
    shown: StatusState | None = None,
    error: str | None = None,
) -> None:
    """What the forge now shows on ``sha``, and the claim let go; a refusal only sticks while
    ``sha`` is the head. Only the holder settles: one whose lease ran out leaves the head to
    whoever took it over."""
    with database.writing() as session:
        head = session.get(ReviewHead, head_id, with_for_update=True, populate_existing=True)
        if head is None or head.claimed_by != holder:
            return
        head.claimed_until, head.claimed_by = None, None
        if error is None or head.head_sha == sha:
            if shown is not None:
                head.published, head.published_sha = shown, sha
            head.last_error = error[:MAX_ERROR] if error is not None else None
            head.updated_at = clock.now()
        session.add(head)
