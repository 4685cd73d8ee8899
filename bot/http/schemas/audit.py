"""``GET /api/audit``: every command and webhook, who, what, when and how it ended."""

from pydantic import BaseModel, Field

from bot.http.schemas.people import Someone
from bot.http.schemas.times import Moment
from storage.tables import AuditEntry as AuditRow


class AuditEntry(BaseModel):
    """One command or webhook: who, through which front, what, and how it ended."""

    id: int
    at: Moment
    actor: Someone
    via: str
    action: str = Field(examples=["line.stop"])
    detail: str
    outcome: str = Field(examples=["ok"])
    message: str

    @classmethod
    def of(cls, row: AuditRow) -> "AuditEntry":
        """The API's entry for a stored one."""
        return cls(
            id=row.id,
            at=row.at,
            actor=Someone(id=row.actor, name=row.actor_name),
            via=row.via,
            action=row.action,
            detail=row.detail,
            outcome=row.outcome,
            message=row.message,
        )


class AuditLog(BaseModel):
    """Audit entries, newest first."""

    entries: list[AuditEntry]
