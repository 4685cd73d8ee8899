"""The rule that restarts the line: not before its five whys is done or has a meeting."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from core.refusal import Refusal
from core.whys.analysis import analysis


def may_start(session: Session, stoppage_id: int) -> Refusal | None:
    """``None`` when the analysis is done or scheduled; else a sentence that says what is left."""
    shown = analysis(session, stoppage_id)
    if shown.done or shown.scheduled_at is not None:
        return None
    return Refusal(
        f"The five whys of stoppage #{stoppage_id} is not done: it still lacks "
        f"{shown.missing()}. Finish it in the thread, or `/whys schedule <when>` a meeting — "
        "then `/line start`. (Admins: `/line start force <reason>`.)"
    )


@dataclass(frozen=True)
class Owed:
    """What a stoppage's five whys still lacks when the line restarts (None: nothing)."""

    missing: str | None
    meeting: datetime | None


def owed(session: Session, stoppage_id: int) -> Owed:
    shown = analysis(session, stoppage_id)
    return Owed(None if shown.done else shown.missing(), shown.scheduled_at)
