"""A flag evaluated for one context, as the OpenFeature Remote Evaluation Protocol answers it:
a boolean, the variant (``on``/``off``) and the reason — read in one query per request."""

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, and_, col, select

from core.flags.bucket import BUCKETS, is_on
from storage.tables import Flag, FlagChange, FlagRollout


class Reason(StrEnum):
    """OFREP's reasons, as this kind of flag gives them."""

    STATIC = "STATIC"  # 100%: on for everyone
    DISABLED = "DISABLED"  # 0%: the kill switch
    SPLIT = "SPLIT"  # a percentage: the targeting key's bucket decides
    TARGETING_MATCH = "TARGETING_MATCH"  # a percentage, no targeting key: off until 100%


@dataclass(frozen=True)
class Evaluation:
    key: str
    value: bool
    reason: Reason
    environment: str
    percentage: int

    @property
    def variant(self) -> str:
        return "on" if self.value else "off"


def evaluated(
    key: str, *, percentage: int, environment: str, targeting_key: str | None
) -> Evaluation:
    """What the flag ``key`` at ``percentage`` is for this targeting key."""
    value = is_on(percentage, flag_key=key, targeting_key=targeting_key)
    if percentage >= BUCKETS:
        reason = Reason.STATIC
    elif percentage <= 0:
        reason = Reason.DISABLED
    else:
        reason = Reason.SPLIT if targeting_key is not None else Reason.TARGETING_MATCH
    return Evaluation(key, value, reason, environment, percentage)


def percentage_of(session: Session, *, key: str, environment: str) -> int | None:
    """The flag's percentage in the environment (0 when never set), or None: no such flag."""
    rows = session.exec(_percentages(environment).where(Flag.key == key)).all()
    return rows[0][1] or 0 if rows else None


def percentages(session: Session, *, environment: str) -> list[tuple[str, int]]:
    """Every flag's key and percentage in the environment, by key."""
    rows = session.exec(_percentages(environment).order_by(col(Flag.key))).all()
    return [(key, percentage or 0) for key, percentage in rows]


def version(session: Session) -> tuple[int, int]:
    """Changes whenever a flag is created or a percentage moves (the newest of each): what a
    bulk evaluation's ETag is made of, read in one small query."""
    newest_flag = select(func.max(Flag.id)).scalar_subquery()
    newest_change = select(func.max(FlagChange.id)).scalar_subquery()
    flag, change = session.exec(select(newest_flag, newest_change)).one()
    return int(flag or 0), int(change or 0)


def _percentages(environment: str):  # type: ignore[no-untyped-def]
    joined = and_(col(FlagRollout.flag_id) == col(Flag.id), FlagRollout.environment == environment)
    return select(Flag.key, FlagRollout.percentage).outerjoin(FlagRollout, joined)
