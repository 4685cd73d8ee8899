"""The answers of a five whys: given, corrected, reopened, or adopted from the thread's chatter.

An answer is given on purpose — a reply starting with ``because`` (or ``why N:``), or a reply
someone pins with the thread's reaction — so "on it, give me 5 min" never becomes a why.
"""

import re
from datetime import datetime

from sqlmodel import Session, col, select

from core.actor import Actor
from core.clock import Clock
from core.notifier import MessageRef, Notifier
from core.whys import investing
from core.whys.analysis import analysis, whys_of
from core.whys.heard import Heard
from core.whys.notices import AnswerEdited, InvestmentsAsked, NotUnderstood, WhyAsked
from core.whys.phase import LEVELS, Phase, move
from storage.tables import ThreadReply, WhyAnswer

KEPT_REPLIES = 4_000  # characters of a reply kept for adoption: an answer is a sentence or two
_SAID = re.compile(
    r"(?:because\b[\s,:;.—–-]*|why\s+[1-5]\s*[:.]\s*)(?P<text>.+)", re.IGNORECASE | re.DOTALL
)


def spoken(text: str) -> str:
    """An answer as it is kept: without the ``because`` or ``why N:`` that marked it as one."""
    said = _SAID.fullmatch(text.strip())
    return said["text"].strip() if said else text.strip()


def answer(
    session: Session,
    *,
    notifier: Notifier,
    thread: MessageRef,
    clock: Clock,
    stoppage_id: int,
    actor: Actor,
    text: str,
    message: str | None,
) -> Heard:
    """The open why is answered: the next is asked about this answer, or after five, the
    investments."""
    row = whys_of(session, stoppage_id)
    phase = Phase.of(row)
    level = phase.asked
    assert level is not None, "only an open why is answered"
    _put(session, stoppage_id, level, text, actor, clock.now(), message)
    move(row, phase.following)
    session.add(row)
    session.flush()
    shown = analysis(session, stoppage_id)
    if level < LEVELS:
        notifier.reply(thread, WhyAsked(shown, level + 1))
    elif investing.complete(session, stoppage_id):  # every level was invested in early
        investing.close(
            session, notifier=notifier, thread=thread, clock=clock, stoppage_id=stoppage_id
        )
        return Heard(answered=level, done=True)
    else:
        notifier.reply(thread, InvestmentsAsked(shown))
    return Heard(answered=level)


def answer_level(
    session: Session,
    *,
    notifier: Notifier,
    thread: MessageRef,
    clock: Clock,
    stoppage_id: int,
    actor: Actor,
    level: int,
    text: str,
    message: str | None,
) -> Heard:
    """``why N: …``: the open why is answered; an earlier one is corrected; a later one waits."""
    asked = Phase.of(whys_of(session, stoppage_id)).asked
    if level == asked:
        return answer(
            session,
            notifier=notifier,
            thread=thread,
            clock=clock,
            stoppage_id=stoppage_id,
            actor=actor,
            text=text,
            message=message,
        )
    if asked is None or level < asked:
        return edit(
            session,
            notifier=notifier,
            thread=thread,
            clock=clock,
            stoppage_id=stoppage_id,
            actor=actor,
            level=level,
            text=text,
        )
    ahead = f"Why {asked} is open" if asked is not None else "All five whys are answered"
    notifier.reply(
        thread,
        NotUnderstood(f"Why {level} is not asked yet: {ahead}. Answer it with `because …`."),
    )
    return Heard()


def edit(
    session: Session,
    *,
    notifier: Notifier,
    thread: MessageRef,
    clock: Clock,
    stoppage_id: int,
    actor: Actor,
    level: int,
    text: str,
) -> Heard:
    """``edit N: …``: answer N says something else now, and the thread hears it."""
    found = session.exec(
        select(WhyAnswer).where(WhyAnswer.stoppage_id == stoppage_id, WhyAnswer.level == level)
    ).first()
    if found is None:
        phase = Phase.of(whys_of(session, stoppage_id))
        notifier.reply(
            thread,
            NotUnderstood(
                f"There is no answer {level} to edit yet: why {phase.value} is the one open — "
                "answer it with `because …`."
            ),
        )
        return Heard()
    found.text, found.edited_at = text, clock.now()
    session.add(found)
    notifier.reply(thread, AnswerEdited(level, text, actor))
    return Heard(edited=level)


def back(session: Session, *, notifier: Notifier, thread: MessageRef, stoppage_id: int) -> Heard:
    """``back``: the previous why is asked again; its answer stands until a new one replaces it."""
    row = whys_of(session, stoppage_id)
    before = Phase.of(row).previous
    if before is None:
        notifier.reply(thread, NotUnderstood("Why 1 is the first: there is nothing to go back to."))
        return Heard()
    move(row, before)
    session.add(row)
    session.flush()
    notifier.reply(thread, WhyAsked(analysis(session, stoppage_id), before.value))
    return Heard()


def remember(
    session: Session, *, stoppage_id: int, actor: Actor, text: str, message: str, at: datetime
) -> None:
    """A reply that answered nothing: kept, so the team can pin it as the answer later."""
    session.add(
        ThreadReply(
            stoppage_id=stoppage_id,
            message=message,
            by=actor.id,
            by_name=actor.name,
            text=text[:KEPT_REPLIES],
            at=at,
        )
    )


def adopt(
    session: Session,
    *,
    notifier: Notifier,
    thread: MessageRef,
    clock: Clock,
    stoppage_id: int,
    message: str,
) -> Heard:
    """Someone pinned a reply with the thread's reaction: it answers the open why, in its
    author's name. A reply already used, or a five whys past its whys, changes nothing."""
    if Phase.of(whys_of(session, stoppage_id)).answered:
        return Heard()
    reply = session.exec(
        select(ThreadReply)
        .where(ThreadReply.stoppage_id == stoppage_id, ThreadReply.message == message)
        .order_by(col(ThreadReply.id).desc())
    ).first()
    used = session.exec(
        select(WhyAnswer.id).where(
            WhyAnswer.stoppage_id == stoppage_id, WhyAnswer.message_ts == message
        )
    ).first()
    if reply is None or used is not None:
        return Heard()
    author = Actor(reply.by, reply.by_name, "slack")
    return answer(
        session,
        notifier=notifier,
        thread=thread,
        clock=clock,
        stoppage_id=stoppage_id,
        actor=author,
        text=reply.text,
        message=message,
    )


def _put(
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
        found.edited_at = None
    found.message_ts = message
    session.add(found)
