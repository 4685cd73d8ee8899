"""The hook's full way to the database: the decision as ``andon serve`` makes it, through the bus.

Taken when the short way (``bot.githooks.gate_quick``) cannot answer — a stopped line, a deleted
or rewound ref, unchecked pushes to tell, ``[[gate.checks]]``, PostgreSQL, a config it has not
read yet. It imports the ORM, Andon's tables and the config's models: the hook's interpreter
starts without ``site``, so ``bot.githooks.gate_ask`` adds the site packages before it imports
this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.githooks import gate_quick
from bot.githooks.gate_failures import Answer, UnansweredError, UnreachableError

if TYPE_CHECKING:
    from bot.bus.unit import Units
    from core.clock import Clock
    from core.config.file import AndonConfig
    from core.gate.decide import GateAnswer
    from core.gate.push import Push
    from storage.database import Database

TERMINAL_CHANNEL = "line"  # bot.main's channel when there is no Slack; replies follow the thread


def answer(environ: Mapping[str, str], body: dict[str, Any]) -> Answer:
    """Andon's answer, decided here; the announcement is queued for ``andon serve`` to send."""
    from sqlalchemy.exc import DBAPIError

    from core.config.file import ConfigError, load
    from core.gate.push import BadPushError, read

    path = environ.get("ANDON_CONFIG") or "./andon.toml"
    url = environ.get("ANDON_DATABASE_URL") or "sqlite:///./andon.db"
    source = gate_quick.config_bytes(environ)
    try:
        config = load(path)
        push = read(body)
    except (ConfigError, BadPushError) as broken:
        raise UnansweredError(str(broken)) from None
    except OSError as broken:
        raise UnansweredError(f"{path} could not be read: {broken}") from None
    try:
        decided = _decided(url, config, push)
    except (DBAPIError, OSError) as broken:
        said = (str(broken).strip().splitlines() or [type(broken).__name__])[0][:300]
        raise UnreachableError(
            f"Andon's database {shown_url(url)} could not be used: {said} "
            "(has `andon db upgrade` run?)"
        ) from None
    if source is not None and not config.gate.checks and gate_quick.config_bytes(environ) == source:
        gate_quick.stamp(environ, source=source, protected=config.protected_refs)
    return decided.allow, decided.message, True


def _decided(url: str, config: AndonConfig, push: Push) -> GateAnswer:
    """The bus's answer, as ``POST /api/gate`` gives it; its log goes nowhere, since the hook's
    stderr is the pusher's terminal (a failure still leaves its audit row)."""
    import logging

    from bot.bus.dispatch import Bus
    from bot.bus.events import PushAsked
    from bot.bus.unit import Units
    from core.actor import Actor
    from core.clock import SystemClock
    from storage.database import Database

    quiet = logging.getLogger("bot.bus")
    if not quiet.handlers:
        quiet.addHandler(logging.NullHandler())
    clock = SystemClock()
    database = Database(url)
    try:
        channel = config.slack.channel or TERMINAL_CHANNEL
        units = Units(database, channel=channel, clock=clock)
        hook = _Hook(config=config, clock=clock, database=database, units=units)
        return Bus(hook).handle(PushAsked(push), Actor(push.pusher, push.pusher, "git"))
    finally:
        database.dispose()


@dataclass(frozen=True)
class _Hook:
    """The engine as the hook has it (``bot.bus.engine.Engine``): no chat, no hosts."""

    config: AndonConfig
    clock: Clock
    database: Database
    units: Units
    deployer: None = None
    flag_watcher: None = None
    directory: None = None
    commits: None = None


def shown_url(url: str) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(an unreadable ANDON_DATABASE_URL)"
