"""Who is on call: the rotation of ``[oncall]``, handed off weekly, unless someone covers.

The rotation counts handoffs from a fixed Monday, so every replica (and every restart) agrees
on who is on call without storing it; overrides are the only stored part.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from core import audit
from core.actor import Actor
from core.audit import Outcome
from core.clock import Clock
from core.config.alerts import OncallConfig
from core.moments import MomentError, parse_moment
from core.notifier import Notice, Notifier
from core.refusal import Refusal
from storage.database import inserted
from storage.tables import OncallHandoff, OncallOverride

SHOW_ACTION = "oncall"  # the audit log's name for each command
OVERRIDE_ACTION = "oncall.override"
_EPOCH = datetime(2024, 1, 1)  # a Monday: handoffs are counted from the first one after it
_WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Shift:
    user: str
    until: datetime  # the next handoff, or the end of the override
    covering: bool  # an override, not the rotation


@dataclass(frozen=True)
class Oncall:
    """``/oncall``: who now, until when, who next."""

    now: Shift | None
    next_user: str | None
    at: datetime


@dataclass(frozen=True)
class OverrideSet:
    user: str
    until: datetime
    by: Actor


@dataclass(frozen=True)
class HandedOver(Notice):
    """The DM the incoming person gets."""

    user: str
    until: datetime
    covering: bool


def _handoffs(config: OncallConfig, at: datetime) -> tuple[int, datetime]:
    """How many handoffs happened since the epoch, and when the next one is (UTC)."""
    zone = ZoneInfo(config.timezone)
    first = datetime.combine(_EPOCH.date(), config.handoff.at, zone) + timedelta(
        days=config.handoff.weekday
    )
    local = at.astimezone(zone)
    if local < first:
        return -1, first.astimezone(UTC)
    count = int((local - first) / _WEEK)
    following = (first + (count + 1) * _WEEK).astimezone(UTC)
    return count, following


def scheduled(config: OncallConfig, at: datetime) -> Shift:
    """The rotation's person at ``at``, ignoring overrides."""
    count, following = _handoffs(config, at)
    user = config.rotation[count % len(config.rotation)]
    return Shift(user, following, covering=False)


def now(session: Session, config: OncallConfig | None, at: datetime) -> Shift | None:
    if config is None:
        return None
    override = session.exec(
        select(OncallOverride)
        .where(col(OncallOverride.starts_at) <= at, col(OncallOverride.until) > at)
        .order_by(col(OncallOverride.id).desc())
    ).first()
    if override is not None:
        return Shift(override.user, override.until, covering=True)
    return scheduled(config, at)


def after(config: OncallConfig, user: str, at: datetime) -> str | None:
    """Who is next after ``user`` for an escalation: the rotation's following person."""
    rotation = config.rotation
    anchor = scheduled(config, at).user if user not in rotation else user
    following = rotation[(rotation.index(anchor) + 1) % len(rotation)]
    return None if following == user else following


def following(
    config: OncallConfig | None, user: str, at: datetime, *, skip: Collection[str]
) -> str | None:
    """Who gets a page ``user`` could not be reached for: the rotation's next person after them
    who is not in ``skip``; None when nobody is left."""
    if config is None:
        return None
    rotation = config.rotation
    anchor = user if user in rotation else scheduled(config, at).user
    start = rotation.index(anchor)
    for step in range(1, len(rotation) + 1):
        candidate = rotation[(start + step) % len(rotation)]
        if candidate != user and candidate not in skip:
            return candidate
    return None


def show(
    session: Session, *, config: OncallConfig | None, clock: Clock, actor: Actor
) -> Oncall | Refusal:
    audit.record(session, clock=clock, actor=actor, action=SHOW_ACTION, outcome=Outcome.OK)
    if config is None:
        return Refusal("Nobody is on call: add `[oncall] rotation = [...]` to andon.toml.")
    at = clock.now()
    shift = now(session, config, at)
    next_user = scheduled(config, shift.until if shift else at).user
    return Oncall(shift, next_user, at)


def override(
    session: Session,
    *,
    config: OncallConfig | None,
    clock: Clock,
    notifier: Notifier,
    actor: Actor,
    user: str,
    until: str,
) -> OverrideSet | Refusal:
    """``/oncall override @user until <when>``: announced to the person covering."""
    detail = f"{user} until {until}"
    if config is None:
        refusal = Refusal("Nobody is on call: add `[oncall] rotation = [...]` to andon.toml.")
    else:
        refusal = None
    at = clock.now()
    try:
        end = parse_moment(until, now=at, timezone=config.timezone if config else "UTC")
    except MomentError as error:
        refusal = refusal or Refusal(str(error))
        end = at
    if refusal is None and end <= at:
        refusal = Refusal(f"{until!r} is already past: an override needs an end in the future.")
    if refusal is not None:
        audit.record(
            session,
            clock=clock,
            actor=actor,
            action=OVERRIDE_ACTION,
            outcome=Outcome.REFUSED,
            detail=detail,
            message=refusal.reason,
        )
        return refusal
    session.add(OncallOverride(user=user, starts_at=at, until=end, by=actor.id, by_name=actor.name))
    audit.record(
        session,
        clock=clock,
        actor=actor,
        action=OVERRIDE_ACTION,
        outcome=Outcome.OK,
        detail=detail,
    )
    session.flush()
    hand_over(session, config=config, clock=clock, notifier=notifier)
    return OverrideSet(user, end, actor)


def hand_over(
    session: Session, *, config: OncallConfig | None, clock: Clock, notifier: Notifier
) -> str | None:
    """When the person on call changed since the last word, the incoming one hears it."""
    shift = now(session, config, clock.now())
    if shift is None:
        return None
    last = session.exec(select(OncallHandoff).order_by(col(OncallHandoff.id).desc())).first()
    if last is not None and last.user == shift.user:
        return None
    told = {"user": shift.user, "at": clock.now(), "follows": last.id if last else 0}
    if inserted(session, OncallHandoff, told, unless=("follows",)) is None:
        return None  # another replica recorded this handoff at the same tick, and tells it
    notifier.dm(shift.user, HandedOver(shift.user, shift.until, shift.covering))
    return shift.user
