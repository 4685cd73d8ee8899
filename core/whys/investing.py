"""Investments of a five whys: one proportional action per level, from the thread or the form.

An investment typed before its level's why is reached is kept and acknowledged ("noted for
level 3; why 2 is still open"), never taken for an answer; the last level in closes the analysis.
"""

from datetime import datetime

from sqlmodel import Session, select

from core import line
from core.actor import Actor
from core.clock import Clock, today
from core.notifier import MessageRef, Notifier
from core.whys import repeats
from core.whys.analysis import analysis, whys_of
from core.whys.heard import Heard
from core.whys.investments import Investment, InvestmentError, read
from core.whys.item_status import ItemStatus, move
from core.whys.notices import InvestmentsNoted, NotedEarly, NotUnderstood, WhysDone
from core.whys.phase import LEVELS, Phase
from core.whys.phase import move as move_phase
from storage.tables import ActionItem, Stoppage

HOW = "`3: add a smoke test @maria due fri`, or `3: none: <why>`"


def from_reply(
    session: Session,
    *,
    notifier: Notifier,
    thread: MessageRef,
    clock: Clock,
    stoppage_id: int,
    actor: Actor,
    text: str,
    timezone: str,
) -> Heard:
    """``N: …`` lines in the thread: recorded now, whichever why is open; due dates count
    from today in the team's ``timezone``."""
    try:
        found = read(
            text,
            author=actor.id,
            author_name=actor.name,
            today=today(clock, timezone),
            mentions=actor.is_slack_user,
        )
    except InvestmentError as error:
        notifier.reply(thread, NotUnderstood(str(error)))
        return Heard()
    if not found:
        notifier.reply(thread, NotUnderstood(f"One investment per level, levels 1–5: {HOW}."))
        return Heard()
    if not Phase.of(whys_of(session, stoppage_id)).answered:
        return _early(session, notifier, thread, clock, stoppage_id, actor, found)
    return record_investments(
        session, notifier=notifier, clock=clock, stoppage_id=stoppage_id, actor=actor, found=found
    )


def record_investments(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    stoppage_id: int,
    actor: Actor,
    found: list[Investment],
) -> Heard:
    """Investments from the thread or the form; the last level in closes the analysis."""
    stoppage = session.get(Stoppage, stoppage_id)
    assert stoppage is not None and stoppage.thread_id is not None
    thread = MessageRef(stoppage.thread_id)
    for investment in found:
        _put(session, stoppage_id, investment, actor, clock.now())
    session.flush()
    invested = tuple(i.level for i in found)
    if not complete(session, stoppage_id):
        notifier.reply(thread, InvestmentsNoted(tuple(found), analysis(session, stoppage_id)))
        return Heard(invested=invested)
    close(session, notifier=notifier, thread=thread, clock=clock, stoppage_id=stoppage_id)
    return Heard(invested=invested, done=True)


def complete(session: Session, stoppage_id: int) -> bool:
    """Every level has its investment (or its reasoned "none")."""
    return len(_levels(session, stoppage_id)) >= LEVELS


def close(
    session: Session, *, notifier: Notifier, thread: MessageRef, clock: Clock, stoppage_id: int
) -> None:
    """The five whys is done: the summary, once — in the thread, also sent to the channel."""
    row = whys_of(session, stoppage_id)
    move_phase(row, Phase.DONE)
    row.done_at = clock.now()
    row.repeat_of = repeats.earlier(session, stoppage_id)
    session.add(row)
    session.flush()
    shown = analysis(session, stoppage_id)
    notifier.reply(thread, WhysDone(shown, row.repeat_of))
    if row.scheduled_at is None:  # a booked meeting already let it start
        line.startable(session, notifier=notifier, stoppage_id=stoppage_id)


def _early(
    session: Session,
    notifier: Notifier,
    thread: MessageRef,
    clock: Clock,
    stoppage_id: int,
    actor: Actor,
    found: list[Investment],
) -> Heard:
    for investment in found:
        _put(session, stoppage_id, investment, actor, clock.now())
    session.flush()
    shown = analysis(session, stoppage_id)
    notifier.reply(thread, NotedEarly(tuple(found), shown))
    return Heard(early=tuple(i.level for i in found))


def _levels(session: Session, stoppage_id: int) -> set[int]:
    return set(
        session.exec(select(ActionItem.level).where(ActionItem.stoppage_id == stoppage_id)).all()
    )


def _put(
    session: Session, stoppage_id: int, investment: Investment, actor: Actor, at: datetime
) -> None:
    status = ItemStatus.NONE if investment.none else ItemStatus.OPEN
    found = session.exec(
        select(ActionItem).where(
            ActionItem.stoppage_id == stoppage_id, ActionItem.level == investment.level
        )
    ).first()
    if found is None:
        found = ActionItem(
            stoppage_id=stoppage_id,
            level=investment.level,
            text="",
            status=status.value,
            created_by=actor.id,
            created_at=at,
        )
    elif found.status != status:  # restated: the new investment replaces the old
        move(found, status)
    found.text = investment.text
    found.owner, found.owner_name = investment.owner, investment.owner_name
    found.due = investment.due
    found.category = investment.category.value if investment.category else None
    session.add(found)
