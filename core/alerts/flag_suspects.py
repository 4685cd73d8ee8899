"""A page lists the flags turned on or up shortly before it, beside the deploys: a release is a
deploy too, and its *Turn off* button is the kill switch. Turning a flag off or down is no
suspect — it is how a bad release is stopped, as a rollback is."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_
from sqlmodel import Session, col, select

from core import words
from core.actor import Actor
from core.flags import records
from core.flags.records import ChangeView
from storage.tables import Flag, FlagChange, FlagRollout

NAMED = 2  # a stoppage's cause names the newest flag changes; the rest are counted


@dataclass(frozen=True)
class FlagSuspect:
    """A flag change a page suspects, and where that flag stands now in its environment."""

    change: ChangeView
    percentage: int  # now; 0 means it has been turned off since (or by the change itself)
    set_by: Actor | None  # who set it to ``percentage``
    set_at: datetime | None

    @property
    def off(self) -> bool:
        return self.percentage == 0


def found(session: Session, *, now: datetime, watch: timedelta) -> list[int]:
    """The changes that turned a flag on or up within ``watch`` before ``now``, newest first."""
    changes = records.changes(session, since=now - watch, until=now)
    return [change.id for change in reversed(changes) if change.after > change.before]


def views(session: Session, ids: Iterable[int]) -> dict[int, FlagSuspect]:
    """The suspects of every page of a delivery, read in one query."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    now = and_(
        col(FlagRollout.flag_id) == col(FlagChange.flag_id),
        col(FlagRollout.environment) == col(FlagChange.environment),
    )
    rows = session.exec(
        select(FlagChange, Flag.key, FlagRollout)
        .join(Flag, col(Flag.id) == col(FlagChange.flag_id))
        .outerjoin(FlagRollout, now)
        .where(col(FlagChange.id).in_(wanted))
    ).all()
    return {change.id: _suspect(change, key, rollout) for change, key, rollout in rows}


def once(suspects: Iterable[FlagSuspect]) -> tuple[FlagSuspect, ...]:
    """Each flag in each environment once, by its newest change (given newest first)."""
    chosen: dict[tuple[str, str], FlagSuspect] = {}
    for suspect in suspects:
        chosen.setdefault((suspect.change.key, suspect.change.environment), suspect)
    return tuple(chosen.values())


def moved(change: ChangeView) -> str:
    """A change as people say it: ``turned on 0% → 100%``, ``ramped 30% → 60%``."""
    verb = "turned on" if change.after == 100 else "ramped"
    return f"{verb} {change.before}% → {change.after}%"


def blamed(suspects: Sequence[FlagSuspect], *, at: datetime) -> str:
    """What a stoppage's cause adds about the flags a page suspects: ``within 4 min of
    `checkout.v2` ramped 30% → 60% in production by @maria``."""
    if not suspects:
        return ""
    named = [_one(suspect.change, at=at) for suspect in suspects[:NAMED]]
    hidden = len(suspects) - len(named)
    more = f" and {words.counted(hidden, 'more flag change')}" if hidden > 0 else ""
    return "; ".join(named) + more


def _one(change: ChangeView, *, at: datetime) -> str:
    by = f"@{change.by.name}" if change.by.is_slack_user else change.by.name
    return (
        f"within {words.span(at - change.at)} of `{change.key}` {moved(change)} "
        f"in {change.environment} by {by}"
    )


def _suspect(row: FlagChange, key: str, rollout: FlagRollout | None) -> FlagSuspect:
    change = records.change_view(row, key)
    if rollout is None:
        return FlagSuspect(change, 0, None, None)
    set_by = Actor(rollout.changed_by, rollout.changed_by_name, rollout.changed_via)
    return FlagSuspect(change, rollout.percentage, set_by, rollout.changed_at)
