"""The rule that restarts the line: not before its five whys is done or has a meeting.

Also the commands around it: ``/whys`` (where it stands), ``/whys severity``, ``/whys schedule``.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import or_
from sqlmodel import Session, col, select

from core import audit, line
from core.actor import Actor
from core.audit import Outcome
from core.clock import Clock
from core.line import peek
from core.moments import MomentError, parse_moment
from core.notifier import MessageRef, Notifier
from core.refusal import Refusal
from core.whys.analysis import Analysis, analysis, whys_of
from core.whys.notices import MeetingScheduled
from core.whys.phase import Phase, unfinished
from core.whys.severity import Severity
from storage.tables import Stoppage, Whys

SHOW_ACTION = "whys"  # the audit log's name for each command
SEVERITY_ACTION = "whys.severity"
SCHEDULE_ACTION = "whys.schedule"
_NO_STOPPAGE = Refusal(
    "There is no five whys to work on: the line is running and every stoppage's is done."
)


@dataclass(frozen=True)
class SeveritySet:
    analysis: Analysis


@dataclass(frozen=True)
class Scheduled:
    analysis: Analysis
    at: datetime


def owed(session: Session, *, clock: Clock) -> int | None:
    """The stoppage whose five whys is the one to work on: the open stoppage's, else the newest
    closed one still unfinished — a restart never makes an owed analysis unreachable."""
    stoppage = peek(session, clock=clock).stoppage
    if stoppage is not None:
        return stoppage.id
    return session.exec(
        select(Stoppage.id)
        .outerjoin(Whys, col(Whys.stoppage_id) == Stoppage.id)
        .where(or_(col(Whys.stoppage_id).is_(None), unfinished()))
        .order_by(col(Stoppage.id).desc())
        .limit(1)
    ).first()


def show(session: Session, *, clock: Clock, actor: Actor) -> Analysis | Refusal:
    audit.record(session, clock=clock, actor=actor, action=SHOW_ACTION, outcome=Outcome.OK)
    stoppage_id = owed(session, clock=clock)
    return _NO_STOPPAGE if stoppage_id is None else analysis(session, stoppage_id)


def set_severity(
    session: Session, *, clock: Clock, actor: Actor, severity: str
) -> SeveritySet | Refusal:
    record = partial(
        audit.record, session, clock=clock, actor=actor, action=SEVERITY_ACTION, detail=severity
    )
    stoppage_id = owed(session, clock=clock)
    if severity not in {s.value for s in Severity}:
        refusal = Refusal(f"{severity!r} is not a severity: minor, major or critical.")
    else:
        refusal = _NO_STOPPAGE if stoppage_id is None else None
    if refusal is not None or stoppage_id is None:
        refusal = refusal or _NO_STOPPAGE
        record(outcome=Outcome.REFUSED, message=refusal.reason)
        return refusal
    row = whys_of(session, stoppage_id)
    row.severity, row.severity_from = severity, actor.id
    session.add(row)
    record(outcome=Outcome.OK, message=f"stoppage #{stoppage_id}")
    session.flush()
    return SeveritySet(analysis(session, stoppage_id))


def from_alert(session: Session, stoppage_id: int, severity: Severity) -> None:
    """A page's severity sets the analysis' — unless a person has said otherwise."""
    row = whys_of(session, stoppage_id)
    order = list(Severity)
    if row.severity_from in ("default", "alert") and order.index(severity) >= order.index(
        Severity(row.severity)
    ):
        row.severity, row.severity_from = severity.value, "alert"
        session.add(row)


def schedule(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    actor: Actor,
    when: str,
    timezone: str = "UTC",
) -> Scheduled | Refusal:
    """``/whys schedule tomorrow 10:00``: a meeting, a reminder in the thread, and the line may
    start meanwhile."""
    record = partial(
        audit.record, session, clock=clock, actor=actor, action=SCHEDULE_ACTION, detail=when
    )
    stoppage_id = owed(session, clock=clock)
    try:
        at = parse_moment(when, now=clock.now(), timezone=timezone)
        refusal = _NO_STOPPAGE if stoppage_id is None else None
    except MomentError as error:
        refusal = Refusal(str(error))
    if refusal is None and at <= clock.now():
        refusal = Refusal(f"{when!r} is already past: schedule the meeting in the future.")
    if refusal is not None or stoppage_id is None:
        refusal = refusal or _NO_STOPPAGE
        record(outcome=Outcome.REFUSED, message=refusal.reason)
        return refusal
    row = whys_of(session, stoppage_id)
    first = row.scheduled_at is None
    row.scheduled_at, row.scheduled_by, row.remind_at = at, actor.id, at
    session.add(row)
    found = session.get(Stoppage, stoppage_id)
    if found is not None and found.thread_id is not None:
        notifier.reply(MessageRef(found.thread_id), MeetingScheduled(at, actor))
    if first and not Phase.of(row).done:
        line.startable(session, notifier=notifier, stoppage_id=stoppage_id)
    record(outcome=Outcome.OK, message=f"stoppage #{stoppage_id} at {at.isoformat()}")
    session.flush()
    return Scheduled(analysis(session, stoppage_id), at)
