"""The production line: anyone may stop it, and it runs again only when someone starts it.

Every change takes the line's row lock first (``SELECT … FOR UPDATE`` on PostgreSQL, the write
lock of ``BEGIN IMMEDIATE`` on SQLite), so concurrent stops end with exactly one stoppage.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial

from sqlmodel import Session, select

from core import audit, words
from core.actor import Actor
from core.audit import Outcome
from core.causes import add_cause, join_stoppage, open_stoppage, say_added
from core.clock import Clock
from core.home import viewers
from core.line_notices import (
    LineStarted,
    LineStopped,
    announcement,
)
from core.notifier import MessageRef, Notifier
from core.refusal import Refusal
from core.stoppage import Cause, StoppageState, StoppageView, move, view
from core.whys import restart
from storage.tables import Line, Stoppage

STOP_ACTION = "line.stop"  # the audit log's name for each command
START_ACTION = "line.start"
STATUS_ACTION = "line.status"
MAX_REASON = 2000
_NOW = select(Line.state, Line.since, Line.stoppage_id).where(Line.id == 1)  # built once


class LineState(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"


# --- what the person who asked gets back ---------------------------------------------------


@dataclass(frozen=True)
class LineNow:
    """The line's own row: whether it runs, since when, and which stoppage is open."""

    state: LineState
    since: datetime
    stoppage_id: int | None


@dataclass(frozen=True)
class LineStatus:
    state: LineState
    since: datetime
    now: datetime
    stoppage: StoppageView | None
    start_refusal: str | None = None  # why ``/line start`` would be refused now, if it would


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


def current(session: Session, *, lock: bool = False) -> LineNow:
    """Whether the line runs, in one query: what a request on the hot path reads once and hands
    to whatever else needs it (``peek`` also builds the open stoppage's view). Its three
    columns, not the row as an object: every slash command and push reads them. ``lock``: the
    row is locked to the end of the transaction, as every change of the line locks it."""
    if lock:
        line = _line(session, lock=True)
        return LineNow(LineState(line.state), line.since, line.stoppage_id)
    session.flush()  # what the ORM's autoflush would do: a change not yet written is read
    state, since, stoppage_id = session.connection().execute(_NOW).one()
    return LineNow(LineState(state), since, stoppage_id)


def peek(session: Session, *, clock: Clock) -> LineStatus:
    """Where the line stands, and the open stoppage if there is one."""
    now = current(session)
    stoppage = view(session, now.stoppage_id) if now.stoppage_id else None
    return LineStatus(now.state, now.since, clock.now(), stoppage)


def status(session: Session, *, clock: Clock, actor: Actor) -> LineStatus:
    """``/line status``: a command like any other, so it is audited."""
    audit.record(session, clock=clock, actor=actor, action=STATUS_ACTION, outcome=Outcome.OK)
    found = peek(session, clock=clock)
    if found.stoppage is None:
        return found
    refusal = restart.may_start(session, found.stoppage.id)
    return replace(found, start_refusal=refusal.reason if refusal else None)


def startable(session: Session, *, notifier: Notifier, stoppage_id: int) -> None:
    """The five whys now lets the line start (done, or its meeting booked): the stop notice
    gains its *Start the line* button."""
    stoppage = session.get(Stoppage, stoppage_id)
    if stoppage is None or stoppage.state != StoppageState.OPEN or not stoppage.announcement_id:
        return
    shown = _view(session, stoppage_id)
    notice = LineStopped(shown.id, shown.opened_by, shown.reason, shown.opened_at, may_start=True)
    notifier.update(MessageRef(stoppage.announcement_id), notice)


def stop(
    session: Session, *, notifier: Notifier, clock: Clock, actor: Actor, reason: str
) -> Stopped | AlreadyStopped | Refusal:
    """Pull the cord: open a stoppage with its thread, or add a cause to the open one."""
    cause = _checked(session, clock=clock, actor=actor, reason=reason)
    if isinstance(cause, Refusal):
        return cause
    line = _line(session, lock=True)
    opened = _pull(session, line=line, notifier=notifier, clock=clock, cause=cause)
    viewers.changed(session, clock=clock)
    assert line.stoppage_id is not None
    shown = _view(session, line.stoppage_id)
    return Stopped(shown) if opened else AlreadyStopped(shown)


# Given the stoppage a delivery's causes joined and which of them (indexes), posts their own
# message in the channel and returns it: the thread's reply links to it.
OwnPost = Callable[[int, Sequence[int]], MessageRef | None]


class LineMovedError(Exception):
    """The line was started or stopped between a caller's first look and its lock: what the
    caller prepared for the line it saw is wrong, so its unit of work is rolled back and done
    again (``stop_many``'s ``expect``)."""


def stop_many(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    causes: Sequence[tuple[Actor, str]],
    own_post: OwnPost | None = None,
    expect: LineNow | None = None,
) -> list[int | None]:
    """Pull the cord for several reasons at once — each page of an alert delivery is one.

    The same as ``stop`` for each reason in turn (a cause and an audit row each), but the
    line's row is locked once, no stoppage view is built per cause, and the causes that join
    an open stoppage are said in one reply to its thread: the caller does its other work first,
    so the lock every other stop waits for is held for less, and a storm of pages is one
    message in the thread, not one per page. Causes that join a stoppage opened before the call
    get their own post from ``own_post`` first, linked from the thread.
    Returns, per reason, the stoppage it joined or opened, or ``None`` when it was refused.
    ``expect``: the line as the caller read it; ``LineMovedError`` if the locked row differs."""
    checked = [_checked(session, clock=clock, actor=actor, reason=r) for actor, r in causes]
    if all(isinstance(cause, Refusal) for cause in checked):
        return [None] * len(checked)
    line = _line(session, lock=True)
    if expect is not None and (line.state, line.stoppage_id) != (expect.state, expect.stoppage_id):
        raise LineMovedError
    before = line.stoppage_id if line.state == LineState.STOPPED else None
    joined: list[int | None] = []
    added: list[Cause] = []
    indexes: list[int] = []  # of the causes that joined
    for index, cause in enumerate(checked):
        if isinstance(cause, Refusal):
            joined.append(None)
            continue
        if line.state == LineState.STOPPED and line.stoppage_id is not None:
            add_cause(session, line.stoppage_id, cause)
            _audit_stop(session, clock=clock, cause=cause, message="cause added")
            added.append(cause)
            indexes.append(index)
        else:
            _pull(session, line=line, notifier=notifier, clock=clock, cause=cause)
        joined.append(line.stoppage_id)
    if added:
        assert line.stoppage_id is not None
        post = None
        if before is not None and own_post is not None:
            post = own_post(before, indexes)
        say_added(session, notifier=notifier, stoppage_id=line.stoppage_id, causes=added, post=post)
    viewers.changed(session, clock=clock)
    return joined


def _checked(session: Session, *, clock: Clock, actor: Actor, reason: str) -> Cause | Refusal:
    """A reason as a stop takes it; a refused one is audited as such here."""
    reason = " ".join(reason.split())
    refusal = _check_reason(reason)
    if refusal is None:
        return Cause(reason, actor, clock.now())
    audit.record(
        session,
        clock=clock,
        actor=actor,
        action=STOP_ACTION,
        detail=reason,
        outcome=Outcome.REFUSED,
        message=refusal.reason,
    )
    return refusal


def _pull(session: Session, *, line: Line, notifier: Notifier, clock: Clock, cause: Cause) -> bool:
    """One cause on the locked line: join the open stoppage, or open one (then True)."""
    if line.state == LineState.STOPPED and line.stoppage_id is not None:
        join_stoppage(session, notifier=notifier, stoppage_id=line.stoppage_id, cause=cause)
        _audit_stop(session, clock=clock, cause=cause, message="cause added")
        return False
    line.stoppage_id = open_stoppage(session, notifier=notifier, cause=cause)
    line.state, line.since = LineState.STOPPED.value, cause.at
    session.add(line)
    _audit_stop(session, clock=clock, cause=cause, message=f"stoppage #{line.stoppage_id}")
    return True


def _audit_stop(session: Session, *, clock: Clock, cause: Cause, message: str) -> None:
    audit.record(
        session,
        clock=clock,
        actor=cause.by,
        action=STOP_ACTION,
        detail=cause.text,
        outcome=Outcome.OK,
        message=message,
    )


def start(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    actor: Actor,
    force: str | None = None,
    admins: Sequence[str] = (),
) -> Started | Refusal:
    """Run the line again and close its stoppage; the channel hears how long it was stopped.

    Not before the stoppage's five whys is done or scheduled — unless an admin forces it, with a
    reason the channel hears.
    """
    detail = f"force: {force}" if force is not None else ""
    record = partial(
        audit.record, session, clock=clock, actor=actor, action=START_ACTION, detail=detail
    )
    line = _line(session, lock=True)
    now = clock.now()
    refusal = _may_start(session, line, now, actor=actor, force=force, admins=admins)
    if refusal is not None or line.stoppage_id is None:
        refusal = refusal or Refusal("The line is already running.")
        record(outcome=Outcome.REFUSED, message=refusal.reason)
        return refusal
    owed = restart.owed(session, line.stoppage_id)
    stoppage = session.get(Stoppage, line.stoppage_id)
    assert stoppage is not None and stoppage.id is not None
    move(stoppage, StoppageState.CLOSED)
    stoppage.closed_at, stoppage.closed_by = now, actor.id
    stoppage.closed_by_name, stoppage.closed_via = actor.name, actor.via
    session.add(stoppage)
    line.state, line.since, line.stoppage_id = LineState.RUNNING.value, now, None
    session.add(line)
    viewers.changed(session, clock=clock)
    closed = _view(session, stoppage.id)
    stopped_for = now - closed.opened_at
    started = LineStarted(
        closed.id, actor, now, stopped_for, owed.missing, owed.meeting, forced=force
    )
    _announce_restart(
        notifier, started=started, announced=stoppage.announcement_id, stoppage=closed
    )
    record(outcome=Outcome.OK, message=f"after {words.span(stopped_for)}")
    return Started(closed, stopped_for)


# --- the steps -------------------------------------------------------------------------------


def _may_start(
    session: Session,
    line: Line,
    now: datetime,
    *,
    actor: Actor,
    force: str | None,
    admins: Sequence[str],
) -> Refusal | None:
    if line.state == LineState.RUNNING or line.stoppage_id is None:
        return Refusal(f"The line is already running (since {words.at(line.since, now=now)}).")
    if force is None:
        return restart.may_start(session, line.stoppage_id)
    if actor.id not in admins:
        return Refusal("Only admins (`[access] admins`) may force the line to start.")
    if not " ".join(force.split()):
        return Refusal("Say why — `/line start force <reason>`: the channel hears it.")
    return None


def refusal(reason: str) -> Refusal | None:
    """Why a stop would refuse this reason, if it would: what a caller preparing a stop checks
    before it takes the line's lock."""
    return _check_reason(" ".join(reason.split()))


def _check_reason(reason: str) -> Refusal | None:
    if not reason:
        return Refusal(
            "Say why the line stops — `/line stop <reason>`; the reason opens the five whys."
        )
    if len(reason) > MAX_REASON:
        return Refusal(f"That reason is {len(reason)} characters; keep it under {MAX_REASON}.")
    return None


def _announce_restart(
    notifier: Notifier, *, started: LineStarted, stoppage: StoppageView, announced: int | None
) -> None:
    """Say so in the channel, and strike through the stop announcement with who restarted it."""
    notifier.post(started)
    if announced is not None:
        notifier.update(MessageRef(announced), announcement(stoppage, started))


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
