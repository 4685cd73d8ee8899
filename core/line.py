"""The production line: anyone may stop it, and it runs again only when someone starts it.

Every change takes the line's row lock first (``SELECT … FOR UPDATE`` on PostgreSQL, the write
lock of ``BEGIN IMMEDIATE`` on SQLite), so concurrent stops end with exactly one stoppage.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session, select

from core import audit, words
from core.actor import Actor
from core.audit import Outcome
from core.clock import Clock
from core.notifier import MessageRef, Notice, Notifier
from core.refusal import Refusal
from core.stoppage import StoppageState, StoppageView, move, view
from storage.tables import Line, Stoppage, StoppageCause

MAX_REASON = 2000


class LineState(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"


# --- what the line tells the channel -------------------------------------------------------


@dataclass(frozen=True)
class LineStopped(Notice):
    """The announcement in the channel; re-rendered with ``restarted_*`` once the line runs."""

    stoppage_id: int
    by: Actor
    reason: str
    at: datetime
    restarted_by: Actor | None = None
    restarted_at: datetime | None = None


@dataclass(frozen=True)
class ThreadOpened(Notice):
    """The first message of the stoppage's thread, where its five whys happens."""

    stoppage_id: int
    reason: str


@dataclass(frozen=True)
class CauseAdded(Notice):
    stoppage_id: int
    by: Actor
    reason: str
    at: datetime


@dataclass(frozen=True)
class LineStarted(Notice):
    stoppage_id: int
    by: Actor
    at: datetime
    stopped_for: timedelta


# --- what the person who asked gets back ---------------------------------------------------


@dataclass(frozen=True)
class LineStatus:
    state: LineState
    since: datetime
    now: datetime
    stoppage: StoppageView | None


@dataclass(frozen=True)
class Stopped:
    stoppage: StoppageView


@dataclass(frozen=True)
class AlreadyStopped:
    """The line was stopped already; the reason joined the open stoppage as another cause."""

    stoppage: StoppageView


@dataclass(frozen=True)
class Started:
    stoppage: StoppageView
    stopped_for: timedelta


# --- the commands ----------------------------------------------------------------------------


def peek(session: Session, *, clock: Clock) -> LineStatus:
    """Where the line stands, and the open stoppage if there is one."""
    line = _line(session)
    stoppage = view(session, line.stoppage_id) if line.stoppage_id else None
    return LineStatus(LineState(line.state), line.since, clock.now(), stoppage)


def status(session: Session, *, clock: Clock, actor: Actor) -> LineStatus:
    """``/line status``: a command like any other, so it is audited."""
    audit.record(session, clock=clock, actor=actor, action="line.status", outcome=Outcome.OK)
    return peek(session, clock=clock)


def stop(
    session: Session, *, notifier: Notifier, clock: Clock, actor: Actor, reason: str
) -> Stopped | AlreadyStopped | Refusal:
    """Pull the cord: open a stoppage with its thread, or add a cause to the open one."""
    reason = " ".join(reason.split())
    refusal = _check_reason(reason)
    if refusal:
        _audit(
            session,
            clock=clock,
            actor=actor,
            action="line.stop",
            detail=reason,
            outcome=Outcome.REFUSED,
            message=refusal.reason,
        )
        return refusal
    line = _line(session, lock=True)
    now = clock.now()
    if line.state == LineState.STOPPED and line.stoppage_id is not None:
        _add_cause(session, line.stoppage_id, actor, reason, now)
        stoppage = session.get(Stoppage, line.stoppage_id)
        assert stoppage is not None
        if stoppage.thread_id is not None:
            notifier.reply(
                MessageRef(stoppage.thread_id), CauseAdded(stoppage.id or 0, actor, reason, now)
            )
        _audit(
            session,
            clock=clock,
            actor=actor,
            action="line.stop",
            detail=reason,
            outcome=Outcome.OK,
            message="cause added",
        )
        return AlreadyStopped(_view(session, line.stoppage_id))
    stoppage = _open(session, notifier, actor, reason, now)
    line.state, line.since, line.stoppage_id = LineState.STOPPED.value, now, stoppage.id
    session.add(line)
    _audit(
        session,
        clock=clock,
        actor=actor,
        action="line.stop",
        detail=reason,
        outcome=Outcome.OK,
        message=f"stoppage #{stoppage.id}",
    )
    return Stopped(_view(session, stoppage.id))


def start(session: Session, *, notifier: Notifier, clock: Clock, actor: Actor) -> Started | Refusal:
    """Run the line again and close its stoppage; the channel hears how long it was stopped."""
    line = _line(session, lock=True)
    now = clock.now()
    if line.state == LineState.RUNNING or line.stoppage_id is None:
        refusal = Refusal(f"The line is already running (since {words.at(line.since, now=now)}).")
        _audit(
            session,
            clock=clock,
            actor=actor,
            action="line.start",
            detail="",
            outcome=Outcome.REFUSED,
            message=refusal.reason,
        )
        return refusal
    stoppage = session.get(Stoppage, line.stoppage_id)
    assert stoppage is not None and stoppage.id is not None
    move(stoppage, StoppageState.CLOSED)
    stoppage.closed_at, stoppage.closed_by = now, actor.id
    stoppage.closed_by_name, stoppage.closed_via = actor.name, actor.via
    session.add(stoppage)
    line.state, line.since, line.stoppage_id = LineState.RUNNING.value, now, None
    session.add(line)
    stopped_for = now - stoppage.opened_at
    _announce_restart(session, notifier, stoppage, actor, now, stopped_for)
    _audit(
        session,
        clock=clock,
        actor=actor,
        action="line.start",
        detail="",
        outcome=Outcome.OK,
        message=f"after {words.span(stopped_for)}",
    )
    return Started(_view(session, stoppage.id), stopped_for)


# --- the steps -------------------------------------------------------------------------------


def _check_reason(reason: str) -> Refusal | None:
    if not reason:
        return Refusal(
            "Say why the line stops — `/line stop <reason>`; the reason opens the five whys."
        )
    if len(reason) > MAX_REASON:
        return Refusal(f"That reason is {len(reason)} characters; keep it under {MAX_REASON}.")
    return None


def _open(
    session: Session, notifier: Notifier, actor: Actor, reason: str, now: datetime
) -> Stoppage:
    stoppage = Stoppage(
        state=StoppageState.OPEN.value,
        opened_at=now,
        opened_by=actor.id,
        opened_by_name=actor.name,
        opened_via=actor.via,
    )
    session.add(stoppage)
    session.flush()
    assert stoppage.id is not None
    _add_cause(session, stoppage.id, actor, reason, now)
    announcement = notifier.post(LineStopped(stoppage.id, actor, reason, now))
    thread = notifier.reply(announcement, ThreadOpened(stoppage.id, reason))
    stoppage.announcement_id, stoppage.thread_id = announcement.id, thread.id
    session.add(stoppage)
    return stoppage


def _announce_restart(
    session: Session,
    notifier: Notifier,
    stoppage: Stoppage,
    actor: Actor,
    now: datetime,
    stopped_for: timedelta,
) -> None:
    assert stoppage.id is not None
    notifier.post(LineStarted(stoppage.id, actor, now, stopped_for))
    if stoppage.announcement_id is not None:
        first = _view(session, stoppage.id)
        notifier.update(
            MessageRef(stoppage.announcement_id),
            LineStopped(stoppage.id, first.opened_by, first.reason, first.opened_at, actor, now),
        )


def _add_cause(session: Session, stoppage_id: int, actor: Actor, text: str, now: datetime) -> None:
    session.add(
        StoppageCause(
            stoppage_id=stoppage_id,
            at=now,
            actor=actor.id,
            actor_name=actor.name,
            via=actor.via,
            text=text,
        )
    )
    session.flush()


def _line(session: Session, *, lock: bool = False) -> Line:
    query = select(Line).where(Line.id == 1)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    line = session.exec(query).one()
    return line


def _view(session: Session, stoppage_id: int | None) -> StoppageView:
    assert stoppage_id is not None
    found = view(session, stoppage_id)
    assert found is not None
    return found


def _audit(
    session: Session,
    *,
    clock: Clock,
    actor: Actor,
    action: str,
    detail: str,
    outcome: Outcome,
    message: str,
) -> None:
    audit.record(
        session,
        clock=clock,
        actor=actor,
        action=action,
        outcome=outcome,
        detail=detail,
        message=message,
    )
