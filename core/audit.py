"""The audit log: one append-only row for every command and webhook, whatever its outcome."""

from enum import StrEnum

from sqlmodel import Session, col, select

from core.actor import Actor
from core.clock import Clock
from storage.database import Writes, inserted
from storage.tables import AuditEntry

WEBHOOK = "webhook"  # the audit log's name for a delivery that is no alert and no build result


class Outcome(StrEnum):
    OK = "ok"
    REFUSED = "refused"
    UNKNOWN = "unknown"
    ERROR = "error"


def record(
    session: Writes,
    *,
    clock: Clock,
    actor: Actor,
    action: str,
    outcome: Outcome,
    detail: str = "",
    message: str = "",
) -> None:
    """Write the row in the caller's transaction, so the record and the change land together
    (at once: every command and webhook writes one, so it skips the ORM's flush)."""
    row = {
        "at": clock.now(),
        "actor": actor.id,
        "actor_name": actor.name,
        "via": actor.via,
        "action": action,
        "detail": detail,
        "outcome": outcome.value,
        "message": message,
    }
    inserted(session, AuditEntry, row)


def delivered(
    session: Session, *, clock: Clock, source: str, outcome: Outcome, detail: str
) -> None:
    """A webhook's delivery, by the sender it came from (``ci:github``): one that changes
    nothing still leaves its row."""
    sender = Actor(id=source, name=source, via="http")
    record(session, clock=clock, actor=sender, action=WEBHOOK, outcome=outcome, detail=detail)


def entries(session: Session, *, limit: int = 100, before: int | None = None) -> list[AuditEntry]:
    """The newest entries first; ``before`` pages back from an entry id."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if before is not None:
        query = query.where(col(AuditEntry.id) < before)
    return list(session.exec(query))
