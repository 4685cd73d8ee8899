"""One unit of work: a transaction, the outbox bound to it, and what starts once it commits.

Every message the bus handles runs in one; the deploy run and the alert recorder open theirs, a
step or a chunk at a time, from the same ``Units``.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlmodel import Session

from bot.event_log import EventLog
from bot.outbox.notifier import Outbox
from bot.render import notice
from core.clock import Clock
from core.home import viewers
from core.notifier import Notice
from storage.database import Database


@dataclass
class Unit:
    """An open unit of work: what ``session`` changes and ``outbox`` queues lands together."""

    session: Session
    outbox: Outbox
    _after: list[Callable[[], object]] = field(default_factory=list)

    def after_commit(self, job: Callable[[], object]) -> None:
        """Run ``job`` once the transaction has committed (a deploy run, a nudge) — never when
        it rolls back, so nothing starts on a change that did not happen."""
        self._after.append(job)

    def committed(self) -> None:
        for job in self._after:
            job()


class Units:
    """Opens units of work on one database, for one channel. ``settled`` hears after each commit
    whether messages were queued and whether Homes were marked stale: the courier and the Home
    tabs are woken there."""

    def __init__(
        self,
        database: Database,
        *,
        channel: str,
        clock: Clock,
        settled: Callable[[bool, bool], None] | None = None,
    ) -> None:
        self._database, self._channel, self._clock = database, channel, clock
        self._settled = settled
        self.events = EventLog()  # what the units tell, logged once each has committed

    @contextmanager
    def open(self) -> Iterator[Unit]:
        """The unit the bus hands a handler; its after-commit work runs once it has landed."""
        said: list[tuple[str, Notice]] = []
        with self._database.writing() as session:
            outbox = Outbox(
                session,
                channel=self._channel,
                clock=self._clock,
                render=notice,
                heard=lambda how, told: said.append((how, told)),
            )
            unit = Unit(session, outbox)
            yield unit
        self.events.told(said)
        if self._settled is not None:
            self._settled(unit.outbox.queued > 0, viewers.marked(unit.session))
        unit.committed()

    @contextmanager
    def __call__(self) -> Iterator[tuple[Session, Outbox]]:
        """The unit as ``core`` takes it (``units=``): a transaction and its notifier."""
        with self.open() as unit:
            yield unit.session, unit.outbox
