"""The rule that restarts the line: not before its five whys is done or has a meeting."""

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


def missing(session: Session, stoppage_id: int) -> str:
    return analysis(session, stoppage_id).missing()
