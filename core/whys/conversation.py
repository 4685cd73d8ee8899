"""The conversation in the stoppage's thread. The thread is also where the team coordinates,
so a reply moves the analysis only when it says so:

    because <text>          answers the open why        why 3: <text>   answers why 3
    edit 2: <text>          corrects answer 2           back            reopens the previous why
    3: <action> <@U…> due fri #tests                    4: none: <why>  — investments, any time
    (the thread's reaction on a reply)                  makes that reply the open why's answer

Anything else is chatter: kept, so it can be pinned as an answer, and never answered.
A reply is known by its message (Slack's ``ts``; the terminal has none), so an answer edited in
the chat itself follows the edit (``core.whys.edits``).
"""

import re

from sqlmodel import Session, col, select

from core import audit
from core.actor import Actor
from core.audit import Outcome
from core.clock import Clock
from core.notifier import MessageRef, Notifier
from core.whys import answers, investing
from core.whys.analysis import whys_of
from core.whys.heard import Heard
from core.whys.notices import NotUnderstood
from core.whys.phase import Phase
from storage.tables import Stoppage

REPLY_ACTION = "whys.reply"  # the audit log's name for a reply in the thread
PIN_ACTION = "whys.pin"  # … and for a reply pinned as an answer
PIN = "pushpin"  # the reaction that makes a reply the open why's answer (📌)

_EDIT = re.compile(r"edit\s+(?P<level>[1-5])\s*[:.]\s*(?P<text>.+)", re.IGNORECASE | re.DOTALL)
_BECAUSE = re.compile(r"because\b[\s,:;.—–-]*(?P<text>.+)", re.IGNORECASE | re.DOTALL)
_WHY_N = re.compile(r"why\s+(?P<level>\d+)\s*[:.]\s*(?P<text>.+)", re.IGNORECASE | re.DOTALL)
_INVESTMENT = re.compile(r"\d+\s*[:.)]")


def hear(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    stoppage_id: int,
    actor: Actor,
    text: str,
    timezone: str,
    message: str | None = None,
) -> Heard:
    """One reply in the thread, from a person; ``message`` is its identity in the chat, and
    ``timezone`` the team's, whose today an investment's due date counts from."""
    text = text.strip()
    stoppage = session.get(Stoppage, stoppage_id)
    if stoppage is None or stoppage.thread_id is None or not text:
        return Heard()
    thread = MessageRef(stoppage.thread_id)
    if Phase.of(whys_of(session, stoppage_id, lock=True)).done:
        return Heard()
    heard = _meant(session, notifier, thread, clock, stoppage_id, actor, text, message, timezone)
    if heard is None:  # chatter: kept to be pinned, and the analysis does not move
        if message is not None:
            answers.remember(
                session,
                stoppage_id=stoppage_id,
                actor=actor,
                text=text,
                message=message,
                at=clock.now(),
            )
        return Heard()
    audit.record(
        session,
        clock=clock,
        actor=actor,
        action=REPLY_ACTION,
        outcome=Outcome.OK,
        detail=f"stoppage #{stoppage_id}: {text[:200]}",
    )
    return heard


def _meant(
    session: Session,
    notifier: Notifier,
    thread: MessageRef,
    clock: Clock,
    stoppage_id: int,
    actor: Actor,
    text: str,
    message: str | None,
    timezone: str,
) -> Heard | None:
    """What the reply asks of the analysis, done; None for chatter."""
    common = {"notifier": notifier, "thread": thread, "clock": clock, "stoppage_id": stoppage_id}
    if (edit := _EDIT.fullmatch(text)) is not None:
        return answers.edit(
            session, **common, actor=actor, level=int(edit["level"]), text=_one_line(edit["text"])
        )
    if text.lower() == "back":
        return answers.back(session, notifier=notifier, thread=thread, stoppage_id=stoppage_id)
    if _INVESTMENT.match(text):
        return investing.from_reply(session, **common, actor=actor, text=text, timezone=timezone)
    if (why := _WHY_N.fullmatch(text)) is not None:
        return _why_n(session, common, actor, int(why["level"]), why["text"].strip(), message)
    if (because := _BECAUSE.fullmatch(text)) is not None:
        if Phase.of(whys_of(session, stoppage_id)).answered:
            notifier.reply(thread, NotUnderstood(_INVESTING))
            return Heard()
        return answers.answer(
            session, **common, actor=actor, text=because["text"].strip(), message=message
        )
    return None


def _why_n(
    session: Session,
    common: dict,  # type: ignore[type-arg]
    actor: Actor,
    level: int,
    text: str,
    message: str | None,
) -> Heard:
    if not 1 <= level <= 5:
        common["notifier"].reply(
            common["thread"], NotUnderstood(f"There are five whys: why 1 to why 5, not {level}.")
        )
        return Heard()
    return answers.answer_level(
        session, **common, actor=actor, level=level, text=text, message=message
    )


def adopt(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    stoppage_id: int,
    message: str,
    actor: Actor,
) -> Heard:
    """A reply pinned with the thread's reaction answers the open why (``answers.adopt``); the
    one who pinned it is audited."""
    stoppage = session.get(Stoppage, stoppage_id)
    if stoppage is None or stoppage.thread_id is None:
        return Heard()
    whys_of(session, stoppage_id, lock=True)
    heard = answers.adopt(
        session,
        notifier=notifier,
        thread=MessageRef(stoppage.thread_id),
        clock=clock,
        stoppage_id=stoppage_id,
        message=message,
    )
    if heard.answered is not None:
        audit.record(
            session,
            clock=clock,
            actor=actor,
            action=PIN_ACTION,
            outcome=Outcome.OK,
            detail=f"stoppage #{stoppage_id}: a reply pinned as answer {heard.answered}",
        )
    return heard


def _one_line(text: str) -> str:
    return " ".join(text.split())


_INVESTING = (
    "All five whys are answered: now one investment per level, e.g. "
    f"{investing.HOW}. `edit N: …` still corrects an answer."
)


def wordless(
    session: Session, *, notifier: Notifier, clock: Clock, stoppage_id: int, actor: Actor
) -> Heard:
    """A file with no words in the thread (a screenshot): Andon cannot read it, so instead of
    letting the reply vanish it says how to answer — only while the five whys is open."""
    stoppage = session.get(Stoppage, stoppage_id)
    if stoppage is None or stoppage.thread_id is None:
        return Heard()
    phase = Phase.of(whys_of(session, stoppage_id, lock=True))
    if phase.done:
        return Heard()
    if phase.answered:
        how = "reply with one investment per level in words, e.g. `3: add a smoke test @maria`"
    else:
        how = f"reply with your answer to why {phase.asked} in words"
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
        action=REPLY_ACTION,
        outcome=Outcome.UNKNOWN,
        detail=f"stoppage #{stoppage_id}: a file with no words",
    )
    return Heard()


def stoppage_by_thread(session: Session, message_id: int) -> int | None:
    """The stoppage whose announcement or thread opener is this outbox message."""
    found = session.exec(
        select(Stoppage.id).where(
            (col(Stoppage.announcement_id) == message_id) | (col(Stoppage.thread_id) == message_id)
        )
    ).first()
    return found
