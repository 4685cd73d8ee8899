"""How a watched ramp goes: made once its baseline is read, then held or turned back.

A verdict against the ramp — a watched check past its ``min``/``max``, or more than ``max_drop``
below / ``max_rise`` above the baseline — turns the flag back to its previous percentage (a
change recorded by Andon's watch), stops the line with the metric named, and pages the person
on call, as an alert would.
"""

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from core import audit, line
from core.actor import Actor
from core.alerts import watched
from core.audit import Outcome
from core.clock import Clock
from core.config.file import AndonConfig
from core.flags import records
from core.flags.moving import move
from core.flags.watch import WATCH_ACTOR, WatchState, end, locked, show
from core.notifier import Notifier
from storage.tables import FlagWatch

ACTION = "flag.watch"  # the audit log's name for how a watched ramp ended


@dataclass(frozen=True)
class Ending:
    """What ends a watch: its unit of work, its notifier, and the rest of the engine."""

    session: Session
    notifier: Notifier
    clock: Clock
    config: AndonConfig


def ramp(at: Ending, *, watch_id: int, holder: str, baseline: dict[str, Any]) -> bool:
    """The baseline is read: the ramp is made, and watched from now on. ``False`` when it no
    longer may be (the flag moved meanwhile, or another watcher has it)."""
    row = _mine(at, watch_id, holder, WatchState.PENDING)
    if row is None:
        return False
    flag = records.find(at.session, row.key, lock=True)
    current = records.rollout(at.session, row.flag_id, row.environment) if flag else None
    now_at = current.percentage if current is not None else 0
    if flag is None or now_at != row.from_percentage:
        said = f"`{row.key}` moved to {now_at}% before the ramp was made: nothing changed"
        _ended(at, row, said, WatchState.SUPERSEDED)
        return False
    by = _asker(row)
    place = (row.environment, row.from_percentage, row.to_percentage)
    move(at.session, clock=at.clock, actor=by, flag=flag, place=place, fix=row.fix_reason)
    env = at.config.environments[row.environment]
    row.state, row.baseline = WatchState.WATCHING.value, baseline
    row.until = at.clock.now() + env.watch_for
    at.session.add(row)
    show(at.notifier, row, at.config)
    return True


def refuse(at: Ending, *, watch_id: int, holder: str, why: str) -> None:
    """The baseline could not be read: nothing changed, nothing is known to be wrong."""
    row = _mine(at, watch_id, holder, WatchState.PENDING)
    if row is not None:
        _ended(at, row, f"{why}: nothing changed", WatchState.REFUSED)


def ended(
    at: Ending, *, watch_id: int, holder: str, verdict: str | None, metric: str | None
) -> None:
    """The window passed: held — or, with a verdict, turned back, the line stopped, on-call
    paged."""
    row = _mine(at, watch_id, holder, WatchState.WATCHING)
    if row is None:
        return
    key, before, after = row.key, row.from_percentage, row.to_percentage
    if verdict is None:
        said = f"`{key}` stays at {after}%: the watched metrics held"
        _ended(at, row, said, WatchState.HELD)
        return
    said = f"{verdict} after `{key}` ramped {before}% → {after}%"
    flag = records.find(at.session, key, lock=True)
    current = records.rollout(at.session, row.flag_id, row.environment) if flag else None
    if flag is not None and current is not None and current.percentage == after:
        place = (row.environment, after, before)
        move(at.session, clock=at.clock, actor=WATCH_ACTOR, flag=flag, place=place)
        said += f": turned back to {before}%"
    _ended(at, row, said, WatchState.TURNED_BACK)
    causes = [(WATCH_ACTOR, said)]
    stopped = line.stop_many(at.session, notifier=at.notifier, clock=at.clock, causes=causes)
    watched.page(
        at.session,
        notifier=at.notifier,
        clock=at.clock,
        config=at.config,
        metric=metric or key,
        summary=said,
        stoppage_id=stopped[0],
    )


def cut_short(at: Ending, *, watch_id: int) -> None:
    """Andon stopped while it watched, and the window passed: the ramp stays, unwatched."""
    row = locked(at.session, watch_id)
    if row is None or row.state != WatchState.WATCHING:
        return
    said = (
        f"the watch was cut short (Andon stopped while it watched): `{row.key}` stays at "
        f"{row.to_percentage}% — `/flag ramp {row.key} {row.from_percentage}% "
        f"{row.environment}` turns it back"
    )
    _ended(at, row, said, WatchState.CUT_SHORT)


def _mine(at: Ending, watch_id: int, holder: str, state: WatchState) -> FlagWatch | None:
    row = locked(at.session, watch_id)
    if row is None or row.state != state or row.holder != holder:
        return None
    return row


def _asker(row: FlagWatch) -> Actor:
    return Actor(row.actor, row.actor_name, row.via)


def _ended(at: Ending, row: FlagWatch, said: str, to: WatchState) -> None:
    end(
        at.session,
        notifier=at.notifier,
        config=at.config,
        clock=at.clock,
        row=row,
        said=said,
        to=to,
    )
    audit.record(
        at.session,
        clock=at.clock,
        actor=WATCH_ACTOR,
        action=ACTION,
        outcome=Outcome.OK,
        detail=f"{row.key} in {row.environment}: {row.from_percentage}% → {row.to_percentage}%",
        message=f"{to.value}: {said}"[:1000],
    )
