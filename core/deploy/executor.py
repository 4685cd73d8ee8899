"""The hosts of one run, worked on in parallel: connections, safe points, flips, health, revert.

What a deploy and a rollback do differently is their plan's (``core/deploy/plan.py``); what
they do alike to hosts is here. A batch goes live in three moves: every host of the batch
``activating`` (one write, before the first flip), the flips, then ``active`` (one write,
before any host is waited on) and, once each host has run its ``after_activate`` commands and
passed its health check, ``healthy``. With nothing to wait for, ``active`` and ``healthy`` go
on record together with the next write. When Andon stops (``stopping``), work ends at the next
safe point — before a host stages or flips, between batches, while a health check waits —
with every step so far on record, as a kill would leave it: the restart sweep settles it.
"""

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from core.config.hosts import Environment, Host
from core.deploy import health, releases
from core.deploy.bundle import Bundle
from core.deploy.crew import Crew
from core.deploy.health import HealthCheck
from core.deploy.progress import LostError, Move, Progress
from core.deploy.spec import Steps
from core.deploy.state import HostStep
from core.deploy.transport import Connection, HostError, Later
from core.deploy.watch import DeployWatch

log = logging.getLogger(__name__)

COMMAND_TIMEOUT = 30 * 60.0

Failures = list[tuple["Target", Exception]]


class HaltError(Exception):
    def __init__(self, host: str | None, reason: str, *, stops_line: bool = True) -> None:
        super().__init__(reason)
        self.host, self.reason, self.stops_line = host, reason, stops_line
        self.unhealthy = False
        self.watched = False  # the watch's verdict: a metric got worse under the release
        self.metric: str | None = None  # … and which one (its page names it)

    def __str__(self) -> str:
        return f"{self.host}: {self.reason}" if self.host else self.reason


class StoppedError(Exception):
    """Andon is stopping and the run reached a safe point: leave the rest to the sweep."""


@dataclass
class Target:
    position: int
    host: Host
    path: str
    previous: str | None = None
    flipped: bool = False


@dataclass
class Executor:
    """Works on the hosts of one environment for one run of ``revision``."""

    crew: Crew
    environment: str
    env: Environment
    revision: str
    steps: Steps
    progress: Progress
    bundle: Bundle | None = None
    watch: DeployWatch | None = None  # the metrics watched after each batch (``watch = […]``)
    targets: list[Target] = field(default_factory=list, init=False)
    connections: dict[int, Connection] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _pools: dict[int, ThreadPoolExecutor] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.targets = [
            Target(position, host, self.env.host_path(host))
            for position, host in enumerate(self.env.hosts)
        ]

    def moves(self, targets: Sequence[Target], *to: HostStep, **what: Any) -> list[Move]:
        """The same step for each host, stamped now (``looked``: what each host ran before)."""
        now = self.crew.clock.now()
        return [Move(t.position, now, to, previous=t.previous, **what) for t in targets]

    @property
    def health_checked(self) -> bool:
        """Whether hosts wait on a health check after the flip (the message says so if not)."""
        command = self.steps.health_command
        return bool(command or any(self.env.host_health_url(t.host) for t in self.targets))

    # --- a batch -------------------------------------------------------------------------

    def activate(self, group: Sequence[Target], *, limit: int | None) -> Failures:
        """Flip the batch live: ``activating`` on record first, then the flips, then each host
        settles; returns the hosts that failed (already recorded as failed)."""
        self.progress.write(self.moves(group, HostStep.ACTIVATING))
        self.checkpoint()

        def flip(target: Target, connection: Connection) -> Later[None]:
            return releases.activate_soon(connection, target.path, self.revision)

        def flipped(target: Target, _: None) -> None:
            target.flipped = True

        failures = self.each_at_once(group, flip, flipped, limit=limit)
        flipped = [target for target in group if target.flipped]
        if self.steps.after_activate or self.health_checked:
            self.progress.write(self.moves(flipped, HostStep.ACTIVE, activated=True))
            return failures + self.each(flipped, self.settle, limit=limit)
        # Nothing to wait for after the flip: live and done, on record with the next write.
        both = (HostStep.ACTIVE, HostStep.HEALTHY)
        self.progress.note(self.moves(flipped, *both, activated=True, finished=True))
        return failures

    def settle(self, target: Target) -> None:
        """After the flip: ``after_activate`` commands, then the health check."""
        connection = self.connect(target)
        cwd = releases.release_dir(target.path, self.revision)
        for command in self.steps.after_activate:
            self.command(connection, command, cwd=cwd, host=target.host.address, label="after")
        check = HealthCheck(
            url=self.env.host_health_url(target.host),
            command=self.steps.health_command,
            timeout=self.env.health_timeout,
        )
        reason = health.wait_healthy(
            check,
            connection,
            probe=self.crew.probe,
            cwd=cwd,
            clock=self.crew.clock,
            sleep=self.nap,
        )
        if reason is not None:
            halt = HaltError(target.host.address, reason)
            halt.unhealthy = True
            raise halt
        self.progress.write(self.moves([target], HostStep.HEALTHY, finished=True))

    def revert(self) -> None:
        """Flip every switched host back to what it ran before, all at once."""
        switched = [target for target in self.targets if target.flipped]

        def back(target: Target) -> None:
            releases.activate(self.connect(target), target.path, target.previous)
            target.flipped = False
            self.progress.write(self.moves([target], HostStep.REVERTED, finished=True))

        undone = self.each(switched, back, limit=None, mark=False)
        for target, error in undone:
            log.error("could not revert %s: %s", target.host.address, error)
            self.progress.note(self.moves([target], note=f"could not revert: {error}"))

    # --- stopping ------------------------------------------------------------------------

    def checkpoint(self) -> None:
        """A safe point: every step so far on record, every host on a complete release."""
        if self.crew.stopping():
            self.progress.write()
            raise StoppedError()

    def nap(self, seconds: float) -> None:
        """The health check's wait between probes, which a stop cuts short."""
        self.crew.sleep(seconds)
        self.checkpoint()

    # --- hosts ---------------------------------------------------------------------------

    def connect(self, target: Target) -> Connection:
        """The host's connection, borrowed from the environment's pool until ``give_back``:
        a host holds one only while it is worked on, so hundreds of hosts share the pool's
        ``max_connections``."""
        with self._lock:
            found = self.connections.get(target.position)
        if found is not None:
            return found
        connection = self.crew.transport_for(self.environment).connect(target.host)
        with self._lock:
            self.connections[target.position] = connection
        return connection

    def give_back(self, target: Target) -> None:
        """The host's step is done: its connection goes back to the pool (kept warm there)."""
        with self._lock:
            connection = self.connections.pop(target.position, None)
        if connection is not None:
            _close(connection)

    def at_once(self, count: int, *, limit: int | None = None) -> int:
        """How many hosts are worked on together: ``limit`` (all of them when ``None``), never
        more than the pool's connections — more threads would only wait for one."""
        wanted = count if limit is None else min(count, limit)
        return max(1, min(wanted, self.env.max_connections))

    def each(
        self,
        targets: Sequence[Target],
        work: Callable[[Target], None],
        *,
        limit: int | None,
        mark: bool = True,
        keep: bool = False,
    ) -> Failures:
        """Work on hosts in parallel, ``limit`` at a time (``None``: as many as the pool has
        connections); each failure is returned (and, with ``mark``, recorded). With ``keep``,
        a host that did not fail keeps its connection for what follows."""
        failures: Failures = []

        def guarded(target: Target) -> None:
            with self._guard(target, failures, mark=mark, give_back=not keep):
                work(target)

        list(self._threads(self.at_once(len(targets), limit=limit)).map(guarded, targets))
        return sorted(failures, key=lambda pair: pair[0].position)

    def each_at_once(
        self,
        targets: Sequence[Target],
        ask: Callable[[Target, Connection], Later[Any]],
        answered: Callable[[Target, Any], None],
        *,
        limit: int | None,
    ) -> Failures:
        """One question per host, ``limit`` hosts at a time (never more than the pool holds):
        each connected (dials and liveness checks in parallel threads), then the question sent
        to every one before any answer is read — from this thread, so a hundred hosts cost a
        round trip, not a hundred threads' turns. Failures are returned and recorded."""
        failures: Failures = []
        size = self.at_once(len(targets), limit=limit)
        for start in range(0, len(targets), size):
            chunk = targets[start : start + size]
            failures += _ask_each(self, chunk, ask, answered)
        return sorted(failures, key=lambda pair: pair[0].position)

    def _reach(self, target: Target) -> None:
        self.connect(target)

    @contextmanager
    def _guard(
        self, target: Target, failures: Failures, *, mark: bool, give_back: bool
    ) -> Iterator[None]:
        """A host's failure is returned (and, with ``mark``, recorded); its connection goes
        back when ``give_back``, and always when it failed."""
        try:
            yield
        except (HostError, HaltError) as error:
            with self._lock:
                failures.append((target, error))
            if mark:
                self._failed(target, error)
            self.give_back(target)
        finally:
            if give_back:
                self.give_back(target)

    def _threads(self, workers: int) -> ThreadPoolExecutor:
        """The run's threads for ``workers`` hosts at a time, started once and kept until
        ``close``: a rollback's look and flip share them (starting 100 threads costs more
        than a flip)."""
        with self._lock:
            if workers not in self._pools:
                prefix = f"andon-deploy-{self.progress.deploy_id}-hosts"
                self._pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix=prefix)
            return self._pools[workers]

    def _failed(self, target: Target, error: Exception) -> None:
        reason = error.reason if isinstance(error, HaltError) else str(error)
        try:
            self.progress.write(self.moves([target], HostStep.FAILED, finished=True, error=reason))
        except LostError:
            raise
        except Exception:
            log.exception("could not record the failure of %s", target.host.address)

    def command(
        self, connection: Connection, command: str, *, cwd: str, host: str, label: str
    ) -> None:
        done = connection.run(command, cwd=cwd, timeout=COMMAND_TIMEOUT)
        if not done.ok:
            tail = done.output.strip()[-300:]
            raise HaltError(host, f"{label}_activate `{command}` exited {done.status}: {tail}")

    def left_revision(self) -> str | None:
        """What the hosts ran before this run, when they all ran the same."""
        known = {target.previous for target in self.targets if target.previous}
        known.discard(self.revision)
        return known.pop() if len(known) == 1 else None

    def close(self) -> None:
        with self._lock:
            lent, self.connections = list(self.connections.values()), {}
            pools, self._pools = list(self._pools.values()), {}
        for connection in lent:
            _close(connection)
        for pool in pools:
            pool.shutdown()


def _ask_each(
    hosts: Executor,
    chunk: Sequence[Target],
    ask: Callable[[Target, Connection], Later[Any]],
    answered: Callable[[Target, Any], None],
) -> Failures:
    """``each_at_once`` for hosts the pool can hold together; returns their failures."""
    unreached = hosts.each(chunk, hosts._reach, limit=None, keep=True)
    failed, found = {target.position for target, _ in unreached}, list(unreached)
    asked = []
    for target in (t for t in chunk if t.position not in failed):
        with hosts._guard(target, found, mark=True, give_back=False):
            asked.append((target, ask(target, hosts.connect(target))))
    for target, later in asked:
        with hosts._guard(target, found, mark=True, give_back=False):
            answered(target, later.result())
    for target in chunk:
        hosts.give_back(target)
    return found


def _close(connection: Connection) -> None:
    try:
        connection.close()
    except Exception:
        log.debug("closing a connection failed", exc_info=True)


def halt_on(failures: Failures) -> None:
    """The first failure ends the run (the others are on record)."""
    if failures:
        target, error = failures[0]
        if isinstance(error, HaltError):
            raise error
        raise HaltError(target.host.address, str(error))
