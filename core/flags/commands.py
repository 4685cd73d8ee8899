"""``/flag``: create a flag, turn it on, off or to a percentage, list and show flags.

Flags obey the line: a release is a deploy too. Turning a flag on or ramping it up waits while
the line is stopped — unless the command says ``fix: <why>``, heard in the stoppage's thread;
turning it off or down always works. Every command is audited; every change is announced, and
the pages that suspect a flag (a page's *Turn off* button) are shown again when it moves.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core import audit, line
from core.actor import Actor
from core.alerts import suspects
from core.audit import Outcome
from core.clock import Clock
from core.config.file import AndonConfig
from core.deploy.deployable import Ask, line_runs
from core.flags import evaluation, records, rules
from core.flags import watch as flag_watch
from core.flags.moving import move
from core.flags.notices import FlagCreated, FlagFixShipping, FlagMoved, WatchShown
from core.flags.records import FlagView
from core.line import LineNow
from core.notifier import MessageRef, Notifier
from core.refusal import Refusal
from storage.tables import Flag, Stoppage

CREATE_ACTION = "flag.create"  # the audit log's name for each command
CHANGE_ACTION = "flag.change"
LIST_ACTION = "flag.list"
SHOW_ACTION = "flag.show"


@dataclass(frozen=True)
class Context:
    """What every flag command needs besides the session."""

    notifier: Notifier
    clock: Clock
    config: AndonConfig


@dataclass(frozen=True)
class FlagWish:
    """``/flag on|off|ramp``: the percentage as typed (``on`` is 100, ``off`` 0)."""

    key: str
    percentage: str
    environment: str | None = None
    fix_reason: str | None = None


@dataclass(frozen=True)
class Created:
    flag: FlagView


@dataclass(frozen=True)
class Changed:
    moved: FlagMoved


@dataclass(frozen=True)
class Watching:
    """On or up under watch: asked, and made by the watch once the baseline is read."""

    watch: WatchShown


@dataclass(frozen=True)
class FlagList:
    flags: tuple[FlagView, ...]
    environments: tuple[str, ...]


@dataclass(frozen=True)
class FlagShown:
    flag: FlagView


def create(
    session: Session, ctx: Context, *, actor: Actor, key: str, description: str = ""
) -> Created | Refusal:
    """A new flag, off in every environment until someone turns it on."""
    description = " ".join(description.split())
    record = partial(
        audit.record, session, clock=ctx.clock, actor=actor, action=CREATE_ACTION, detail=key
    )
    refusal = rules.key_refusal(key)
    if refusal is None and records.find(session, key) is not None:
        refusal = _taken(key)
    if refusal is None and len(description) > rules.MAX_DESCRIPTION:
        refusal = Refusal(f"Keep the description under {rules.MAX_DESCRIPTION} characters.")
    now = ctx.clock.now()
    if refusal is None and not _added(session, key, description, actor, now):
        refusal = _taken(key)
    if refusal is not None:
        record(outcome=Outcome.REFUSED, message=refusal.reason)
        return refusal
    evaluation.moved(session)
    ctx.notifier.post(FlagCreated(key, description, actor, now))
    record(outcome=Outcome.OK)
    envs = rules.environments(ctx.config)
    return Created(records.views(session, environments=envs, key=key)[0])


def _added(session: Session, key: str, description: str, actor: Actor, now: datetime) -> bool:
    """The flag's row, unless someone created the same key in the moment since it was looked
    for (their transaction committed first): a savepoint keeps this one usable for the refusal's
    audit row."""
    flag = Flag(
        key=key,
        description=description,
        created_at=now,
        created_by=actor.id,
        created_by_name=actor.name,
        created_via=actor.via,
    )
    try:
        with session.begin_nested():
            session.add(flag)
    except IntegrityError:
        return False
    return True


def _taken(key: str) -> Refusal:
    return Refusal(f"There is already a flag `{key}`; `/flag show {key}` shows it.")


def change(
    session: Session, ctx: Context, *, actor: Actor, wish: FlagWish
) -> Changed | Watching | Refusal:
    """On, off, or a percentage, in one environment: announced, audited, kept in the history.
    On or up where the environment watches metrics, the change is made by the watch, once it
    has read the baseline (``core/flags/watch.py``): the answer says so at once."""
    record = partial(audit.record, session, clock=ctx.clock, actor=actor, action=CHANGE_ACTION)
    found = _target(session, ctx, wish)
    if isinstance(found, Refusal):
        detail = f"{wish.key[:64]} to {wish.percentage[:20]}"
        record(outcome=Outcome.REFUSED, detail=detail, message=found.reason)
        return found
    flag, environment, after = found
    assert flag.id is not None
    row = records.rollout(session, flag.id, environment)
    before = row.percentage if row is not None else 0
    detail = f"{flag.key} in {environment}: {before}% → {after}%"
    detail += f" (fix: {wish.fix_reason})" if wish.fix_reason else ""
    now = line.current(session)
    refusal = _unchanged(flag.key, environment, before, after) or _line_refusal(
        session, ctx, now, wish=wish, up=after > before, environment=environment
    )
    if refusal is not None:
        record(outcome=Outcome.REFUSED, detail=detail, message=refusal.reason)
        return refusal
    fix = wish.fix_reason if after > before and now.stoppage_id is not None else None
    made = _made(session, ctx, actor=actor, flag=flag, place=(environment, before, after), fix=fix)
    record(
        outcome=Outcome.OK, detail=f"{detail} (watched)" if isinstance(made, Watching) else detail
    )
    if isinstance(made, Changed):  # the pages that suspect the flag show where it is now
        suspects.flag_moved(
            session,
            notifier=ctx.notifier,
            clock=ctx.clock,
            config=ctx.config,
            key=flag.key,
            environment=environment,
        )
    if fix is not None and now.stoppage_id is not None:  # a watched ramp: as it is asked
        shipping = made.moved if isinstance(made, Changed) else _asked(made, actor, ctx)
        _tell_stoppage(session, ctx, now.stoppage_id, shipping)
    return made


def turn_off(
    session: Session, ctx: Context, *, actor: Actor, key: str, environment: str | None = None
) -> Changed | Watching | Refusal:
    """The kill switch: 0% — allowed whatever the line's state (a page's *Turn off* button)."""
    return change(session, ctx, actor=actor, wish=FlagWish(key, "0", environment))


def listing(session: Session, ctx: Context, *, actor: Actor) -> FlagList:
    """``/flag list``: every flag with its percentage in each environment."""
    audit.record(session, clock=ctx.clock, actor=actor, action=LIST_ACTION, outcome=Outcome.OK)
    envs = rules.environments(ctx.config)
    return FlagList(tuple(records.views(session, environments=envs)), envs)


def show(session: Session, ctx: Context, *, actor: Actor, key: str) -> FlagShown | Refusal:
    """``/flag show <key>``: each environment's percentage, who changed it and when."""
    record = partial(
        audit.record, session, clock=ctx.clock, actor=actor, action=SHOW_ACTION, detail=key[:64]
    )
    refusal = rules.key_refusal(key)
    found = records.views(session, environments=rules.environments(ctx.config), key=key)
    if refusal is None and not found:
        refusal = _unknown(key)
    if refusal is not None:
        record(outcome=Outcome.REFUSED, message=refusal.reason)
        return refusal
    record(outcome=Outcome.OK)
    return FlagShown(found[0])


# --- the steps -------------------------------------------------------------------------------


def _target(session: Session, ctx: Context, wish: FlagWish) -> tuple[Flag, str, int] | Refusal:
    """The flag (locked), the environment and the percentage a change names — or why not."""
    refusal = rules.key_refusal(wish.key)
    if refusal is not None:
        return refusal
    flag = records.find(session, wish.key, lock=True)
    if flag is None:
        return _unknown(wish.key)
    environment = rules.environment_named(ctx.config, wish.environment)
    if isinstance(environment, Refusal):
        return environment
    after = rules.percentage(wish.percentage)
    if isinstance(after, Refusal):
        return after
    return flag, environment, after


def _unknown(key: str) -> Refusal:
    return Refusal(
        f"There is no flag `{key}`; `/flag create {key} <description>` creates it, "
        "`/flag list` lists them.",
        rule="flag_exists",
    )


def _unchanged(key: str, environment: str, before: int, after: int) -> Refusal | None:
    if before != after:
        return None
    return Refusal(f"`{key}` is already at {after}% in {environment}; nothing changed.")


def _line_refusal(
    session: Session, ctx: Context, now: LineNow, *, wish: FlagWish, up: bool, environment: str
) -> Refusal | None:
    """On or up waits for a running line, unless it is the fix; off and down never wait."""
    if not up:
        return None
    ask = Ask(ctx.config, ctx.clock, "", line=now, fix=wish.fix_reason is not None)
    blocker = line_runs(session, ask)
    if blocker is None:
        return None
    said = f"on {wish.key}" if wish.percentage == "100" else f"ramp {wish.key} {wish.percentage}"
    return Refusal(
        f"{blocker.what} — a release is a deploy too: flags go on or up after `/line start` "
        f"(off and down always work); if this is the fix: `/flag {said} {environment} fix: <why>`.",
        rule="line_runs",
    )


def _made(
    session: Session,
    ctx: Context,
    *,
    actor: Actor,
    flag: Flag,
    place: tuple[str, int, int],
    fix: str | None,
) -> Changed | Watching:
    """The change made — or, on or up where metrics are watched, left to the watch, which makes
    it once the baseline is read. Either way it ends the watch of an earlier change there."""
    environment, before, after = place
    assert flag.id is not None
    notifier, config, clock = ctx.notifier, ctx.config, ctx.clock
    flag_watch.supersede(
        session,
        notifier=notifier,
        config=config,
        clock=clock,
        flag_id=flag.id,
        environment=environment,
        by=actor,
    )
    if after > before and flag_watch.watched(config, environment):
        shown = flag_watch.record(
            session,
            notifier=notifier,
            config=config,
            clock=clock,
            flag=flag,
            place=place,
            actor=actor,
            fix=fix,
        )
        return Watching(shown)
    moved = move(session, clock=clock, actor=actor, flag=flag, place=place, fix=fix)
    notifier.post(moved)
    return Changed(moved)


def _asked(made: Watching, actor: Actor, ctx: Context) -> FlagMoved:
    watch = made.watch
    at = ctx.clock.now()
    return FlagMoved(watch.key, watch.environment, watch.before, watch.after, actor, at, watch.fix)


def _tell_stoppage(session: Session, ctx: Context, stoppage_id: int, moved: FlagMoved) -> None:
    stoppage = session.get(Stoppage, stoppage_id)
    if stoppage is not None and stoppage.thread_id is not None:
        ctx.notifier.reply(MessageRef(stoppage.thread_id), FlagFixShipping(moved))
