"""Flags as people read them: each environment's percentage, who set it and when, and the
changes made in a window of time (what a page's suspects are looked for in)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from core.actor import Actor
from storage.tables import Flag, FlagChange, FlagRollout


@dataclass(frozen=True)
class Rollout:
    """A flag in one environment; ``by``/``at`` are None while nobody has changed it there."""

    environment: str
    percentage: int
    by: Actor | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class FlagView:
    key: str
    description: str
    created_by: Actor
    created_at: datetime
    rollouts: tuple[Rollout, ...]


@dataclass(frozen=True)
class ChangeView:
    """One change of a flag's percentage, as the history keeps it."""

    id: int
    key: str
    environment: str
    before: int
    after: int
    by: Actor
    at: datetime
    fix_reason: str | None


def find(session: Session, key: str, *, lock: bool = False) -> Flag | None:
    query = select(Flag).where(Flag.key == key)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.exec(query).first()


def rollout(session: Session, flag_id: int, environment: str) -> FlagRollout | None:
    return session.exec(
        select(FlagRollout).where(
            FlagRollout.flag_id == flag_id, FlagRollout.environment == environment
        )
    ).first()


def views(
    session: Session, *, environments: Sequence[str], key: str | None = None
) -> list[FlagView]:
    """Every flag (or the one ``key``), by key, with a rollout per environment: two queries."""
    query = select(Flag).order_by(col(Flag.key))
    if key is not None:
        query = query.where(Flag.key == key)
    flags = list(session.exec(query).all())
    ids = [flag.id for flag in flags]
    rows = session.exec(select(FlagRollout).where(col(FlagRollout.flag_id).in_(ids))).all()
    found = {(row.flag_id, row.environment): row for row in rows}
    return [_view(flag, environments, found) for flag in flags]


def _view(
    flag: Flag, environments: Sequence[str], found: dict[tuple[int, str], FlagRollout]
) -> FlagView:
    assert flag.id is not None
    rollouts = []
    for environment in environments:
        row = found.get((flag.id, environment))
        if row is None:
            rollouts.append(Rollout(environment, 0))
        else:
            by = Actor(row.changed_by, row.changed_by_name, row.changed_via)
            rollouts.append(Rollout(environment, row.percentage, by, row.changed_at))
    creator = Actor(flag.created_by, flag.created_by_name, flag.created_via)
    return FlagView(flag.key, flag.description, creator, flag.created_at, tuple(rollouts))


def changes(
    session: Session, *, since: datetime, until: datetime, environment: str | None = None
) -> list[ChangeView]:
    """The flag changes made in ``[since, until]`` (in one environment, if named), oldest first:
    a page that fires soon after one lists it among its suspects."""
    query = (
        select(FlagChange, Flag.key)
        .join(Flag, col(Flag.id) == col(FlagChange.flag_id))
        .where(col(FlagChange.at) >= since, col(FlagChange.at) <= until)
        .order_by(col(FlagChange.at), col(FlagChange.id))
    )
    if environment is not None:
        query = query.where(FlagChange.environment == environment)
    return [change_view(row, key) for row, key in session.exec(query).all()]


def change_view(row: FlagChange, key: str) -> ChangeView:
    """A change as people read it (a page's suspects show it too)."""
    assert row.id is not None
    by = Actor(row.actor, row.actor_name, row.via)
    return ChangeView(
        row.id,
        key,
        row.environment,
        row.from_percentage,
        row.to_percentage,
        by,
        row.at,
        row.fix_reason,
    )
