"""The ``/flag`` commands' handlers: each calls its rule in ``core.flags`` in the unit of work
the bus opened; the rule audits it and announces every change in the line channel."""

from bot.bus.engine import Work
from bot.intents.flags import ChangeFlag, CreateFlag, ListFlags, ShowFlag, TurnOffFlag
from bot.render.reply import Result
from core.flags import commands
from core.flags.commands import FlagWish


def create_flag(intent: CreateFlag, work: Work) -> Result:
    """``/flag create <key> [description…]``."""
    return commands.create(
        work.session,
        _context(work),
        actor=work.actor,
        key=intent.key,
        description=intent.description,
    )


def change_flag(intent: ChangeFlag, work: Work) -> Result:
    """``/flag on|off <key> [env]``, ``/flag ramp <key> <N>% [env]``, with ``fix: <why>``."""
    wish = FlagWish(intent.key, intent.percentage, intent.environment, intent.fix_reason)
    result = commands.change(work.session, _context(work), actor=work.actor, wish=wish)
    watcher = work.engine.flag_watcher
    if isinstance(result, commands.Watching) and watcher is not None:
        work.after_commit(watcher.nudge)  # the baseline is read once the ramp is on record
    return result


def turn_off_flag(intent: TurnOffFlag, work: Work) -> Result:
    """A page's *Turn off* button: 0%, whatever the line's state."""
    return commands.turn_off(
        work.session,
        _context(work),
        actor=work.actor,
        key=intent.key,
        environment=intent.environment,
    )


def list_flags(_: ListFlags, work: Work) -> Result:
    """``/flag list``."""
    return commands.listing(work.session, _context(work), actor=work.actor)


def show_flag(intent: ShowFlag, work: Work) -> Result:
    """``/flag show <key>``."""
    return commands.show(work.session, _context(work), actor=work.actor, key=intent.key)


def _context(work: Work) -> commands.Context:
    return commands.Context(notifier=work.notifier, clock=work.clock, config=work.config)
