"""Due work of the five whys, claimed by the tick: the meeting reminder at its time, and the nag
of a line stopped for long — how long, how many commits wait, what the analysis lacks."""

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from core.clock import Clock
from core.config.file import AndonConfig
from core.line import peek
from core.notifier import MessageRef, Notifier
from core.whys.analysis import analysis, whys_of
from core.whys.notices import MeetingNow, StillStopped
from storage.tables import CiResult, Stoppage, Whys

TICK_ACTION = "whys.tick"  # the scheduler's round of reminders and nags, audited if it fails


def tick(session: Session, *, notifier: Notifier, clock: Clock, config: AndonConfig) -> int:
    now = clock.now()
    acted = 0
    _first_nag(session, clock=clock, config=config)
    for row in session.exec(select(Whys).where(col(Whys.remind_at) <= now)).all():
        if _claim(session, row, "remind_at", None):
            acted += _remind(session, notifier, row)
    for row in session.exec(
        select(Whys).where(col(Whys.nag_at) <= now, col(Whys.done_at).is_(None))
    ).all():
        if _claim(session, row, "nag_at", now + config.line.nag):
            acted += _nag(session, notifier, clock, config, row)
    return acted


def _first_nag(session: Session, *, clock: Clock, config: AndonConfig) -> None:
    """An open stoppage's first nag falls one ``[line] nag`` after it opened."""
    stoppage = peek(session, clock=clock).stoppage
    if stoppage is None:
        return
    row = whys_of(session, stoppage.id)
    if row.nag_at is None and row.done_at is None:
        row.nag_at = stoppage.opened_at + config.line.nag
        session.add(row)
        session.flush()


def _claim(session: Session, row: Whys, column: str, to: datetime | None) -> bool:
    """Move the due time on only if nobody else did: the one who moves it does the work."""
    field = getattr(Whys, column)
    moved = session.execute(
        update(Whys)
        .where(col(Whys.stoppage_id) == row.stoppage_id, col(field) == getattr(row, column))
        .values({column: to})
    )
    return moved.rowcount == 1


def _thread(session: Session, stoppage_id: int) -> tuple[Stoppage, MessageRef] | None:
    stoppage = session.get(Stoppage, stoppage_id)
    if stoppage is None or stoppage.thread_id is None:
        return None
    return stoppage, MessageRef(stoppage.thread_id)


def _remind(session: Session, notifier: Notifier, row: Whys) -> int:
    found = _thread(session, row.stoppage_id)
    if found is None:
        return 0
    notifier.reply(found[1], MeetingNow(analysis(session, row.stoppage_id)))
    return 1


def _nag(session: Session, notifier: Notifier, clock: Clock, config: AndonConfig, row: Whys) -> int:
    found = _thread(session, row.stoppage_id)
    if found is None or found[0].closed_at is not None:
        return 0
    stoppage, thread = found
    waiting = session.exec(
        select(func.count(func.distinct(CiResult.revision))).where(
            CiResult.branch == config.line_branch,
            col(CiResult.received_at) >= stoppage.opened_at,
        )
    ).one()
    stopped_for = clock.now() - stoppage.opened_at
    notifier.reply(
        thread, StillStopped(stopped_for, int(waiting), analysis(session, row.stoppage_id))
    )
    return 1
