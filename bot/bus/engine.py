"""What a handler works with: the engine's parts (``Engine``; ``bot.andon.Andon`` is one), the
call it handles (who asked, and how the front says it has answered) and, for most handlers, the
unit of work the bus opened for it (``Work``)."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from sqlmodel import Session

from bot.bus.delivery import Delivery, remember
from bot.bus.unit import Unit, Units
from bot.outbox.notifier import Outbox
from core.actor import Actor
from core.ci.commits import Commits
from core.clock import Clock
from core.config.file import AndonConfig
from core.deploy.source import Source
from core.deploy.transport import Transport
from core.people import Directory
from storage.database import Database


class Deploys(Protocol):
    """What handlers ask of the deployer (``bot.workers.deploys.Deployer``)."""

    @property
    def source(self) -> Source | None: ...

    @property
    def holder(self) -> str: ...

    @property
    def hosts(self) -> Callable[[str], Transport]: ...

    def launch(self, deploy_id: int, *, after: threading.Event | None = None) -> object: ...

    def nudge(self) -> None: ...


class FlagWatches(Protocol):
    """What handlers ask of the flag watcher (``bot.workers.flag_watches.FlagWatcher``)."""

    def nudge(self) -> None: ...


class Engine(Protocol):
    """The engine's parts a handler may use; a process without chat or hosts (the git hook)
    has no deployer, no directory and no repository."""

    @property
    def config(self) -> AndonConfig: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def database(self) -> Database: ...

    @property
    def units(self) -> Units: ...

    @property
    def deployer(self) -> Deploys | None: ...

    @property
    def flag_watcher(self) -> FlagWatches | None: ...

    @property
    def directory(self) -> Directory | None: ...

    @property
    def commits(self) -> Commits | None: ...


@dataclass(frozen=True)
class Call:
    """One message handled for one actor. ``answered`` is set by a front once the person has
    its answer: work started after the commit (a deploy) waits for it, so the answer comes
    before the channel's news. ``delivery`` is the request's key when its sender may send it
    again (``bot.bus.delivery``)."""

    actor: Actor
    engine: Engine
    answered: threading.Event | None = None
    delivery: Delivery | None = None

    @contextmanager
    def unit(self) -> Iterator["Work"]:
        """A unit of work for this call: what the bus opens for most handlers, and what a
        handler that reads outside a write transaction opens itself when it is ready."""
        with self.engine.units.open() as unit:
            yield Work(self, unit)


@dataclass(frozen=True)
class Work:
    """A call inside its unit of work: what a handler changes, queues and audits lands together."""

    call: Call
    unit: Unit

    @property
    def session(self) -> Session:
        return self.unit.session

    @property
    def notifier(self) -> Outbox:
        return self.unit.outbox

    @property
    def actor(self) -> Actor:
        return self.call.actor

    @property
    def engine(self) -> Engine:
        return self.call.engine

    @property
    def clock(self) -> Clock:
        return self.call.engine.clock

    @property
    def config(self) -> AndonConfig:
        return self.call.engine.config

    def after_commit(self, job: Callable[[], object]) -> None:
        """``job`` runs once this unit has committed (``Unit.after_commit``)."""
        self.unit.after_commit(job)

    def remember_delivery(self) -> None:
        """The call's key lands with what this unit changes; a repeat raises ``RepeatError``, and
        the unit rolls back before it acts."""
        remember(self.session, clock=self.clock, delivery=self.call.delivery)
