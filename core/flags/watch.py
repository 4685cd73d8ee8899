"""A flag ramp under watch: the baseline first, then the ramp, then its metrics for a while.

Turning a flag on or ramping it up where the environment has ``watch = [...]`` is recorded as a
watch, ``pending``: nothing has changed yet. A watcher (``bot/workers/flag_watches.py``) claims
it, reads the baseline, makes the change (``watching``), reads the watched checks for
``watch_for`` and ends it (``core/flags/watch_end.py``): ``held`` when every look was fine,
``turned_back`` when one got worse. A watch whose baseline cannot be read changes nothing
(``refused``); a change of the flag in that environment meanwhile ends it (``superseded``).

After a crash, a watch nobody holds any more is claimed again: a pending one starts over
(nothing changed yet); a live one whose window is still open resumes against its stored
baseline for what is left of it; one whose window passed unwatched keeps the new percentage,
and its message says the watch was cut short (``cut_short``).
"""

from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum

from sqlmodel import Session, col, select

from core.actor import Actor
from core.clock import Clock
from core.config.file import AndonConfig
from core.flags.notices import FlagWatched, WatchShown
from core.notifier import MessageRef, Notifier
from storage.tables import Flag, FlagWatch


class WatchState(StrEnum):
    PENDING = "pending"  # recorded; nothing changed yet: the baseline comes first
    WATCHING = "watching"  # the ramp is live, watched until ``until``
    HELD = "held"  # every look was fine: the ramp stays
    TURNED_BACK = "turned_back"  # a metric got worse: back to the previous percentage
    CUT_SHORT = "cut_short"  # Andon stopped and the window passed unwatched: the ramp stays
    SUPERSEDED = "superseded"  # the flag moved again meanwhile
    REFUSED = "refused"  # the baseline could not be read: nothing changed


LIVE = (WatchState.PENDING.value, WatchState.WATCHING.value)
WATCH_ACTOR = Actor(id="andon:watch", name="watch", via="watch")
GRACE = timedelta(minutes=1)  # a watcher on another machine has this long past its window


def watched(config: AndonConfig, environment: str) -> tuple[str, ...]:
    """The checks a ramp in ``environment`` watches: none, where it names none."""
    env = config.environments.get(environment)
    return tuple(env.watch) if env is not None else ()


def record(
    session: Session,
    *,
    notifier: Notifier,
    config: AndonConfig,
    clock: Clock,
    flag: Flag,
    place: tuple[str, int, int],
    actor: Actor,
    fix: str | None,
) -> WatchShown:
    """The ramp, asked and not yet made: its message says the baseline is read first."""
    environment, before, after = place
    assert flag.id is not None
    row = FlagWatch(
        flag_id=flag.id,
        key=flag.key,
        environment=environment,
        from_percentage=before,
        to_percentage=after,
        actor=actor.id,
        actor_name=actor.name,
        via=actor.via,
        fix_reason=fix,
        state=WatchState.PENDING.value,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    view = shown(row, config)
    row.message_id = notifier.post(FlagWatched(view)).id
    session.add(row)
    return view


def supersede(
    session: Session,
    *,
    notifier: Notifier,
    config: AndonConfig,
    clock: Clock,
    flag_id: int,
    environment: str,
    by: Actor,
) -> None:
    """A new change of the flag there ends the watches of the earlier ones."""
    rows = session.exec(
        select(FlagWatch)
        .where(FlagWatch.flag_id == flag_id, FlagWatch.environment == environment)
        .where(col(FlagWatch.state).in_(LIVE))
    ).all()
    for row in rows:
        said = f"{by.name} changed `{row.key}` again before the watch ended"
        end(session, notifier=notifier, config=config, clock=clock, row=row, said=said)


def end(
    session: Session,
    *,
    notifier: Notifier,
    config: AndonConfig,
    clock: Clock,
    row: FlagWatch,
    said: str,
    to: WatchState = WatchState.SUPERSEDED,
) -> None:
    """The watch ends ``to``, ``said`` its sentence; its message says so."""
    row.state, row.verdict, row.ended_at = to.value, said, clock.now()
    session.add(row)
    show(notifier, row, config)


def show(notifier: Notifier, row: FlagWatch, config: AndonConfig) -> None:
    if row.message_id is not None:
        notifier.update(MessageRef(row.message_id), FlagWatched(shown(row, config)))


def shown(row: FlagWatch, config: AndonConfig) -> WatchShown:
    env = config.environments.get(row.environment)
    return WatchShown(
        key=row.key,
        environment=row.environment,
        before=row.from_percentage,
        after=row.to_percentage,
        by=Actor(row.actor, row.actor_name, row.via),
        state=row.state,
        metrics=watched(config, row.environment),
        watch_for=env.watch_for if env is not None else timedelta(),
        verdict=row.verdict,
        fix=row.fix_reason,
    )


def due(
    session: Session, *, clock: Clock, is_dead: Callable[[str | None], bool]
) -> tuple[list[int], list[int]]:
    """Watches nobody holds: those to run (pending, or a window still open) and those whose
    window passed unwatched."""
    now = clock.now()
    run, cut = [], []
    for row in session.exec(select(FlagWatch).where(col(FlagWatch.state).in_(LIVE))).all():
        assert row.id is not None
        late = row.until is not None and row.until + GRACE < now
        if row.holder is not None and not is_dead(row.holder):
            if row.state == WatchState.WATCHING and late:
                cut.append(row.id)
            continue
        if row.state == WatchState.PENDING or (row.until is not None and row.until > now):
            run.append(row.id)
        else:
            cut.append(row.id)
    return run, cut


def locked(session: Session, watch_id: int) -> FlagWatch | None:
    """The watch, locked, as it is now."""
    query = select(FlagWatch).where(col(FlagWatch.id) == watch_id).with_for_update()
    return session.exec(query.execution_options(populate_existing=True)).first()


def claim(
    session: Session, *, watch_id: int, holder: str, is_dead: Callable[[str | None], bool]
) -> bool:
    """This process watches it now — unless another live one already does, or it ended."""
    row = locked(session, watch_id)
    if row is None or row.state not in LIVE or not is_dead(row.holder):
        return False
    row.holder = holder
    session.add(row)
    return True
