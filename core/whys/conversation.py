"""The conversation in the stoppage's thread: each reply answers the open why, and the bot asks
the next about that answer, until five; then one investment per level.

    edit 2: <text>   corrects answer 2          back   reopens the previous why
    3: <action> <@U…> due 2026-12-04 #tests     4: none: <why>

A reply is known by its message (Slack's ``ts``; the terminal has none), so an answer edited in
the chat itself follows the edit (``core.whys.edits``).
"""

import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from core import audit
from core.actor import Actor
from core.audit import Outcome
from core.clock import Clock
from core.notifier import MessageRef, Notifier
from core.whys import repeats
from core.whys.analysis import DONE, INVESTING, LEVELS, analysis, whys_of
from core.whys.investments import Investment, InvestmentError, read
from core.whys.notices import (
    AnswerEdited,
    InvestmentsAsked,
    InvestmentsNoted,
    NotUnderstood,
    WhyAsked,
    WhysDone,
)
from storage.tables import ActionItem, Stoppage, WhyAnswer

_EDIT = re.compile(r"edit\s+(?P<level>[1-5])\s*[:.]\s*(?P<text>.+)", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Heard:
    """What a reply did; ``None`` of everything when it was not for the analysis."""

    answered: int | None = None
    edited: int | None = None
    invested: tuple[int, ...] = ()
    done: bool = False


def hear(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    stoppage_id: int,
    actor: Actor,
    text: str,
    message: str | None = None,
) -> Heard:
    """One reply in the thread, from a person; ``message`` is its identity in the chat."""
    text = text.strip()
    stoppage = session.get(Stoppage, stoppage_id)
    if stoppage is None or stoppage.thread_id is None or not text:
        return Heard()
    thread = MessageRef(stoppage.thread_id)
    row = whys_of(session, stoppage_id, lock=True)
    if row.open_level >= DONE:
        return Heard()
    edit = _EDIT.fullmatch(text)
    if edit is not None:
        heard = _edit(session, notifier, thread, clock, stoppage_id, edit, actor)
    elif text.lower() == "back":
        heard = _back(session, notifier, thread, stoppage_id)
    elif row.open_level >= INVESTING:
        heard = _invest(session, notifier, thread, clock, stoppage_id, actor, text)
    else:
        heard = _answer(session, notifier, thread, clock, stoppage_id, actor, text, message)
    audit.record(
        session,
        clock=clock,
        actor=actor,
        action="whys.reply",
        outcome=Outcome.OK,
        detail=f"stoppage #{stoppage_id}: {text[:200]}",
    )
    return heard


def wordless(
    session: Session, *, notifier: Notifier, clock: Clock, stoppage_id: int, actor: Actor
) -> Heard:
    """A file with no words in the thread (a screenshot): Andon cannot read it, so instead of
    letting the reply vanish it says how to answer — only while the five whys is open."""
    stoppage = session.get(Stoppage, stoppage_id)
    if stoppage is None or stoppage.thread_id is None:
        return Heard()
    row = whys_of(session, stoppage_id, lock=True)
    if row.open_level >= DONE:
        return Heard()
    if row.open_level >= INVESTING:
        how = "reply with one investment per level in words, e.g. `3: add a smoke test @maria`"
    else:
        how = f"reply with your answer to why {row.open_level} in words"
    notifier.reply(
        MessageRef(stoppage.thread_id),
        NotUnderstood(
            f"Andon reads words, not files: {how}. A file may come along — its comment is the "
            "answer."
        ),
    )
    audit.record(
        session,
        clock=clock,
        actor=actor,
        action="whys.reply",
        outcome=Outcome.UNKNOWN,
        detail=f"stoppage #{stoppage_id}: a file with no words",
    )
    return Heard()


def _answer(
    session: Session,
    notifier: Notifier,
    thread: MessageRef,
    clock: Clock,
    stoppage_id: int,
    actor: Actor,
    text: str,
    message: str | None,
) -> Heard:
    row = whys_of(session, stoppage_id)
    level = row.open_level
    _put_answer(session, stoppage_id, level, text, actor, clock.now(), message)
    row.open_level = level + 1
    session.add(row)
    session.flush()
    shown = analysis(session, stoppage_id)
    if level < LEVELS:
        notifier.reply(thread, WhyAsked(shown, level + 1))
    else:
        notifier.reply(thread, InvestmentsAsked(shown))
    return Heard(answered=level)


def _put_answer(
    session: Session,
    stoppage_id: int,
    level: int,
    text: str,
    actor: Actor,
    at: datetime,
    message: str | None,
) -> None:
    found = session.exec(
        select(WhyAnswer).where(WhyAnswer.stoppage_id == stoppage_id, WhyAnswer.level == level)
    ).first()
    if found is None:
        found = WhyAnswer(
            stoppage_id=stoppage_id, level=level, text=text, by=actor.id, by_name=actor.name, at=at
        )
    else:  # a reopened why: the new answer replaces the old one, and so does its message
        found.text, found.by, found.by_name, found.at = text, actor.id, actor.name, at
    found.message_ts = message
    session.add(found)


def _edit(
    session: Session,
    notifier: Notifier,
    thread: MessageRef,
    clock: Clock,
    stoppage_id: int,
    edit: re.Match[str],
    actor: Actor,
) -> Heard:
    level, text = int(edit["level"]), " ".join(edit["text"].split())
    found = session.exec(
        select(WhyAnswer).where(WhyAnswer.stoppage_id == stoppage_id, WhyAnswer.level == level)
    ).first()
    if found is None:
        notifier.reply(thread, NotUnderstood(f"There is no answer {level} to edit yet."))
        return Heard()
    found.text, found.edited_at = text, clock.now()
    session.add(found)
    notifier.reply(thread, AnswerEdited(level, text, actor))
    return Heard(edited=level)


def _back(session: Session, notifier: Notifier, thread: MessageRef, stoppage_id: int) -> Heard:
    row = whys_of(session, stoppage_id)
    if row.open_level <= 1:
        notifier.reply(thread, NotUnderstood("Why 1 is the first: there is nothing to go back to."))
        return Heard()
    row.open_level = min(row.open_level, LEVELS + 1) - 1
    session.add(row)
    session.flush()
    notifier.reply(thread, WhyAsked(analysis(session, stoppage_id), row.open_level))
    return Heard()


def _invest(
    session: Session,
    notifier: Notifier,
    thread: MessageRef,
    clock: Clock,
    stoppage_id: int,
    actor: Actor,
    text: str,
) -> Heard:
    try:
        found = read(text, author=actor.id, author_name=actor.name, today=clock.now().date())
    except InvestmentError as error:
        notifier.reply(thread, NotUnderstood(str(error)))
        return Heard()
    if not found:
        notifier.reply(
            thread,
            NotUnderstood(
                "Now one investment per level: `3: add a smoke test @maria due 2026-12-04`, or "
                "`3: none: <why>`."
            ),
        )
        return Heard()
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
        _put_item(session, stoppage_id, investment, actor, clock.now())
    session.flush()
    levels = {
        level
        for level in session.exec(
            select(ActionItem.level).where(ActionItem.stoppage_id == stoppage_id)
        ).all()
    }
    row = whys_of(session, stoppage_id)
    if len(levels) < LEVELS:
        notifier.reply(thread, InvestmentsNoted(tuple(found), analysis(session, stoppage_id)))
        return Heard(invested=tuple(i.level for i in found))
    row.open_level, row.done_at = DONE, clock.now()
    row.repeat_of = repeats.earlier(session, stoppage_id)
    session.add(row)
    session.flush()
    shown = analysis(session, stoppage_id)
    notifier.reply(thread, WhysDone(shown, row.repeat_of))
    notifier.post(WhysDone(shown, row.repeat_of))
    return Heard(invested=tuple(i.level for i in found), done=True)


def _put_item(
    session: Session, stoppage_id: int, investment: Investment, actor: Actor, at: datetime
) -> None:
    found = session.exec(
        select(ActionItem).where(
            ActionItem.stoppage_id == stoppage_id, ActionItem.level == investment.level
        )
    ).first() or ActionItem(
        stoppage_id=stoppage_id, level=investment.level, text="", created_by=actor.id, created_at=at
    )
    found.text = investment.text
    found.status = "none" if investment.none else "open"
    found.owner, found.owner_name = investment.owner, investment.owner_name
    found.due = investment.due
    found.category = investment.category.value if investment.category else None
    session.add(found)


def stoppage_by_thread(session: Session, message_id: int) -> int | None:
    """The stoppage whose announcement or thread opener is this outbox message."""
    found = session.exec(
        select(Stoppage.id).where(
            (col(Stoppage.announcement_id) == message_id) | (col(Stoppage.thread_id) == message_id)
        )
    ).first()
    return found
