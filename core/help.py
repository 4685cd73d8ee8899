"""Help asked for, or a command Andon did not understand: audited like any command, so the log
shows what people tried."""

from sqlmodel import Session

from core import audit
from core.actor import Actor
from core.audit import Outcome
from core.clock import Clock

ACTION = "help"  # the audit log's name for help, and for anything not understood


def asked(session: Session, *, clock: Clock, actor: Actor, not_understood: str | None) -> None:
    """``/line help`` is a plain request; what was not understood is kept as it was typed."""
    audit.record(
        session,
        clock=clock,
        actor=actor,
        action=ACTION,
        outcome=Outcome.OK if not_understood is None else Outcome.UNKNOWN,
        detail=not_understood or "",
    )
