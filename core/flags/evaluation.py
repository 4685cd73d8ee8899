"""A flag evaluated for one context, as the OpenFeature Remote Evaluation Protocol answers it:
a boolean, the variant (``on``/``off``) and the reason — read in one query per request."""

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, text
from sqlmodel import Session

from core.flags.bucket import BUCKETS, is_on


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
    reason = reason_of(percentage, keyed=targeting_key is not None)
    return Evaluation(key, value, reason, environment, percentage)


def reason_of(percentage: int, *, keyed: bool) -> Reason:
    """Why a flag at ``percentage`` answers as it does, with or without a targeting key."""
    if percentage >= BUCKETS:
        return Reason.STATIC
    if percentage <= 0:
        return Reason.DISABLED
    return Reason.SPLIT if keyed else Reason.TARGETING_MATCH


def percentage_of(connection: Connection, *, key: str, environment: str) -> int | None:
    """The flag's percentage in the environment (0 when never set), or None: no such flag."""
    row = connection.execute(_ONE, {"key": key, "environment": environment}).first()
    return None if row is None else row[1] or 0


def percentages(connection: Connection, *, environment: str) -> list[tuple[str, int]]:
    """Every flag's key and percentage in the environment, by key."""
    rows = connection.execute(_EVERY, {"environment": environment}).all()
    return [(key, percentage or 0) for key, percentage in rows]


def version(connection: Connection) -> int:
    """Moves whenever a flag is created or a percentage moves: what a bulk evaluation's ETag
    is made of, read in one small query."""
    return int(connection.execute(_VERSION).scalar() or 0)


def moved(session: Session) -> None:
    """Every flag write calls this in its own transaction, so a reader sees the change and the
    new version together (its row lock also orders concurrent flag writes)."""
    session.execute(_MOVED)


# Written once, as SQL text: an evaluation is on every request path of the applications that
# ask, so it runs plain statements on a bare connection, with no ORM session to open and no
# statement tree for SQLAlchemy to walk for its cache key.
_JOINED = (
    "SELECT f.key, r.percentage FROM flag f LEFT JOIN flag_rollout r"
    " ON r.flag_id = f.id AND r.environment = :environment"
)
_EVERY = text(_JOINED + " ORDER BY f.key")
_ONE = text(_JOINED + " WHERE f.key = :key")
_VERSION = text("SELECT n FROM flag_version WHERE id = 1")
_MOVED = text("UPDATE flag_version SET n = n + 1 WHERE id = 1")
