"""An answer edited where it was written: the message that gave answer N is changed in the chat,
so answer N changes with it and the thread is told.

The record follows the edit even once the five whys is done: the analysis, the post-mortem and
the digest should say what the person meant, and the thread says so, so nobody is surprised.
Edits of other messages — chatter, ``edit 2: …`` commands, investments — change nothing.
"""

from sqlmodel import Session, select

from core import audit
from core.actor import Actor
from core.audit import Outcome
from core.clock import Clock
from core.notifier import MessageRef, Notifier
from core.whys.analysis import whys_of
from core.whys.answers import spoken
from core.whys.heard import Heard
from core.whys.notices import AnswerEdited, NotUnderstood
from storage.tables import Stoppage, ThreadReply, WhyAnswer

ACTION = "whys.edit"  # the audit log's name for an edited reply


def edited(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    stoppage_id: int,
    actor: Actor,
    message: str,
    text: str,
) -> Heard:
    """A thread message edited in the chat; if it gave an answer, the answer follows it."""
    text = spoken(text)
    stoppage = session.get(Stoppage, stoppage_id)
    if stoppage is None or stoppage.thread_id is None:
        return Heard()
    whys_of(session, stoppage_id, lock=True)  # one reply or edit at a time, as in the thread
    found = session.exec(
        select(WhyAnswer).where(
            WhyAnswer.stoppage_id == stoppage_id, WhyAnswer.message_ts == message
        )
    ).first()
    if found is None:  # chatter: what may be pinned later is what it says now
        _chatter_edited(session, stoppage_id=stoppage_id, message=message, text=text)
        return Heard()
    if text == found.text:  # only its links unfurled
        return Heard()
    thread = MessageRef(stoppage.thread_id)
    if not text:
        notifier.reply(
            thread,
            NotUnderstood(
                f"Answer {found.level} stays as it was: the edit left no words. To change it, "
                f"edit the message again or reply `edit {found.level}: <text>`."
            ),
        )
        outcome, detail = Outcome.REFUSED, "an edit with no words"
    else:
        found.text, found.edited_at = text, clock.now()
        session.add(found)
        notifier.reply(thread, AnswerEdited(found.level, text, actor))
        outcome, detail = Outcome.OK, text[:200]
    audit.record(
        session,
        clock=clock,
        actor=actor,
        action=ACTION,
        outcome=outcome,
        detail=f"stoppage #{stoppage_id}, answer {found.level}: {detail}",
    )
    return Heard(edited=found.level if outcome is Outcome.OK else None)


def _chatter_edited(session: Session, *, stoppage_id: int, message: str, text: str) -> None:
    for reply in session.exec(
        select(ThreadReply).where(
            ThreadReply.stoppage_id == stoppage_id, ThreadReply.message == message
        )
    ).all():
        if text:
            reply.text = text
            session.add(reply)
