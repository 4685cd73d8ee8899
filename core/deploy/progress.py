"""A run's record as it goes: host steps written together, the progress message kept current.

The hosts' rows are read once when the run begins and kept here; each write updates them in
one unit of work. Hosts that move together are one write, and a step a host reaches while
another write is under way joins the next one, so a batch of twenty hosts is written once, not
twenty times. A step that need not be on record before anything else happens waits for the
next write (``note``); a step that must be — before a host is changed or waited on — is written
before the caller goes on (``write``), so a crash still leaves a record that says how far the
run got. The deploy's message is rendered at most once per batch and at most every ``EVERY``;
the start and the end always (people read the message, not every step of twenty hosts).
"""

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import class_mapper, make_transient_to_detached
from sqlmodel import Session, col, select

from core.clock import Clock
from core.deploy import records
from core.deploy.crew import Units
from core.deploy.notices import DeployProgress
from core.deploy.releases import Staged
from core.deploy.state import DeployState, HostStep, step
from core.notifier import MessageRef, Notifier
from storage.tables import Deploy, DeployHost

EVERY = timedelta(milliseconds=250)
_HOSTS = class_mapper(DeployHost).class_manager


class LostError(Exception):
    """The deploy is no longer ours (swept as interrupted): touch nothing more."""


@dataclass(frozen=True)
class Move:
    """One host's step and what came with it, stamped when it happened (not when written)."""

    position: int
    at: datetime
    to: tuple[HostStep, ...] = ()  # through these steps, in order
    started: bool = False
    looked: bool = False  # the host was asked what it ran: ``previous`` is its answer
    previous: str | None = None
    staged: Staged | None = None
    activated: bool = False
    finished: bool = False
    error: str | None = None
    note: str | None = None  # added to the host's error


@dataclass
class _Ticket:
    moves: Sequence[Move]
    done: bool = False
    error: BaseException | None = None


@dataclass
class Progress:
    """The record of one running deploy: its hosts' rows and its progress message."""

    units: Units
    clock: Clock
    deploy_id: int
    health_checked: bool = False
    watching: str | None = None  # the watch's latest look, while it waits
    _rows: dict[int, DeployHost] = field(default_factory=dict, init=False)
    _noted: list[Move] = field(default_factory=list, init=False)
    _queue: list[_Ticket] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)  # queue, notes
    _pen: threading.Lock = field(default_factory=threading.Lock, init=False)  # one write at a time
    _shown_at: datetime | None = field(default=None, init=False)
    _shown_in_batch: bool = field(default=False, init=False)

    def begin(self, session: Session, notifier: Notifier, deploy: Deploy) -> None:
        """The run starts (in the caller's unit of work): its hosts read, its message shown."""
        found = session.exec(select(DeployHost).where(col(DeployHost.deploy_id) == deploy.id))
        self._rows = {row.position: _copy(row) for row in found}
        self.show(session, notifier, deploy, force=True)

    def mine(self, session: Session) -> Deploy:
        """The deploy, still running under this run; ``LostError`` when it is not."""
        deploy = session.get(Deploy, self.deploy_id)
        if deploy is None or deploy.status != DeployState.RUNNING:
            raise LostError()
        return deploy

    def note(self, moves: Iterable[Move]) -> None:
        """Steps that go on record with the next write."""
        with self._lock:
            self._noted.extend(moves)

    def write(self, moves: Iterable[Move] = ()) -> None:
        """On record before this returns — with what was noted, and with the steps of other hosts
        that arrive meanwhile (they are written together, by whoever writes first)."""
        ticket = _Ticket(list(moves))
        with self._lock:
            self._queue.append(ticket)
        with self._pen:
            if not ticket.done:
                self._write_waiting()
        if ticket.error is not None:
            raise ticket.error

    def _write_waiting(self) -> None:
        with self._lock:
            tickets, self._queue = self._queue, []
            noted, self._noted = self._noted, []
        moves = [*noted, *(move for ticket in tickets for move in ticket.moves)]
        try:
            with self.units() as (session, notifier):
                deploy = self.mine(session)
                rows = self._record(session, moves)
                self.show(session, notifier, deploy, rows)
            self.keep(rows)
        except BaseException as error:  # every host whose step rode in this write hears it
            self.note(noted)  # and what was noted waits for the end's write
            for ticket in tickets:
                ticket.error = error
        finally:
            for ticket in tickets:
                ticket.done = True

    def record(self, session: Session) -> dict[int, DeployHost]:
        """What was noted, written in the caller's unit of work (the end's); returns the rows as
        they read once it commits (``keep`` them then)."""
        with self._lock:
            noted, self._noted = self._noted, []
        return self._record(session, noted)

    def _record(self, session: Session, moves: Sequence[Move]) -> dict[int, DeployHost]:
        """The rows a move changes are added to the session as last written, so it writes what
        changed without reading them first (and scrubs it as it scrubs every row)."""
        rows = {position: _copy(row) for position, row in self._rows.items()}
        for move in moves:
            row = rows[move.position]
            if row not in session:
                session.add(row)
            _apply(row, move)
        session.flush()
        return rows

    def keep(self, rows: dict[int, DeployHost]) -> None:
        """The write committed: its rows are the record now."""
        self._rows = rows

    def watched(self, watching: str) -> None:
        """The watch looked again: the message shows it at once."""
        self.watching = watching
        with self._pen, self.units() as (session, notifier):
            self.show(session, notifier, self.mine(session), force=True)

    def batch(self) -> None:
        """A batch begins: the message may be rendered once more."""
        with self._pen:
            self._shown_in_batch = False

    def show(
        self,
        session: Session,
        notifier: Notifier,
        deploy: Deploy,
        rows: dict[int, DeployHost] | None = None,
        *,
        force: bool = False,
    ) -> None:
        """Update the progress message, when it is due (or ``force``)."""
        now = self.clock.now()
        recent = self._shown_at is not None and now - self._shown_at < EVERY
        if not force and (recent or self._shown_in_batch):
            return
        self._shown_at, self._shown_in_batch = now, True
        if deploy.message_id is None:
            return
        hosts = self._rows if rows is None else rows
        if not hosts:  # the run never began: nothing of it is kept here
            assert deploy.id is not None
            shown = records.view(session, deploy.id, health_checked=self.health_checked)
        else:
            live = deploy.revision if deploy.status == DeployState.SUCCEEDED else None
            shown = records.view_of(
                deploy,
                hosts.values(),
                health_checked=self.health_checked,
                live_revision=live,
                watching=self.watching,
            )
        notifier.update(MessageRef(deploy.message_id), DeployProgress(shown))


def _copy(row: DeployHost) -> DeployHost:
    """The row as last written, apart from any session: a session it is added to writes only
    what changed since (``make_transient_to_detached``: as if just read). Built as a query
    builds a row it read — the model's constructor costs ten times more, and a hundred hosts
    are copied at every write."""
    copy: DeployHost = _HOSTS.new_instance()
    copy.__dict__.update({name: getattr(row, name) for name in DeployHost.model_fields})
    make_transient_to_detached(copy)
    return copy


def _apply(row: DeployHost, move: Move) -> None:
    for to in move.to:
        if row.step != to:
            step(row, to)
    if move.started:
        row.started_at = move.at
    if move.looked:
        row.previous_revision = move.previous
    if move.staged is not None:
        row.staged_at = move.at
        row.files_sent, row.bytes_sent = move.staged.files_sent, move.staged.bytes_sent
    if move.activated:
        row.activated_at = move.at
    if move.finished:
        row.finished_at = move.at
    if move.error:
        row.error = move.error
    if move.note:
        row.error = f"{row.error}; {move.note}" if row.error else move.note
