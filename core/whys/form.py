"""The investments as a form: five fields, one per level, for people who prefer filling a form to
replying ``3: …`` in the thread. Each filled field is read exactly as that reply would be."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from core import audit
from core.actor import Actor
from core.audit import Outcome
from core.clock import Clock
from core.notifier import Notifier
from core.refusal import Refusal
from core.whys.analysis import whys_of
from core.whys.heard import Heard
from core.whys.investing import record_investments
from core.whys.investments import Investment, InvestmentError, read
from core.whys.phase import LEVELS, Phase
from storage.tables import Stoppage

ACTION = "whys.form"  # the audit log's name for the investments form


@dataclass(frozen=True)
class FieldErrors:
    """What is wrong, per level: the form shows each sentence under its field."""

    errors: dict[int, str]


def read_fields(
    fields: Mapping[int, str], *, author: str, author_name: str, today: date
) -> list[Investment] | FieldErrors:
    """Every filled field as ``"{level}: {text}"``; any error, and nothing is taken."""
    found: list[Investment] = []
    errors: dict[int, str] = {}
    for level in range(1, LEVELS + 1):
        text = " ".join(fields.get(level, "").split())  # one line: no ``N:`` may hide in it
        if not text:
            continue
        try:
            found += read(f"{level}: {text}", author=author, author_name=author_name, today=today)
        except InvestmentError as error:
            errors[level] = str(error)
    if errors:
        return FieldErrors(errors)
    if not found:
        return FieldErrors({1: "Fill in at least one level."})
    return found


def submit(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    actor: Actor,
    stoppage_id: int,
    found: list[Investment],
) -> Heard | Refusal:
    """Record the form's investments like thread replies — once the fifth why is answered, and
    until the analysis is done (after that the summary stands)."""
    stoppage = session.get(Stoppage, stoppage_id)
    refusal = None
    if stoppage is None or stoppage.thread_id is None:
        refusal = Refusal(f"There is no five whys of stoppage #{stoppage_id} to invest in.")
    else:
        phase = Phase.of(whys_of(session, stoppage_id, lock=True))
        if not phase.answered:
            refusal = Refusal(
                f"Why {phase.asked} of stoppage #{stoppage_id} is still open: answer the "
                "five whys in the thread first, then invest."
            )
        elif phase.done:
            refusal = Refusal(f"The five whys of stoppage #{stoppage_id} is done already.")
    levels = ", ".join(str(i.level) for i in found)
    detail = f"stoppage #{stoppage_id}: levels {levels}"
    if refusal is not None:
        audit.record(
            session,
            clock=clock,
            actor=actor,
            action=ACTION,
            outcome=Outcome.REFUSED,
            detail=detail,
            message=refusal.reason,
        )
        return refusal
    heard = record_investments(
        session, notifier=notifier, clock=clock, stoppage_id=stoppage_id, actor=actor, found=found
    )
    audit.record(
        session, clock=clock, actor=actor, action=ACTION, outcome=Outcome.OK, detail=detail
    )
    return heard
