"""A deploy or rollback, run: stage everywhere, then flip batch by batch, or revert everything.

Two phases. First the release is staged on every host — uploaded, verified, renamed from
``.partial`` — and only then does anything go live, one batch at a time (the canary first).
When any host fails its upload, activation or health check, the deploy halts, every host
already switched is flipped back, and the line stops: the cluster immune system.

Each step commits before the next begins, so a crash anywhere leaves a record that says how
far it got, and hosts that each point at a complete release. When Andon stops (``stopping``),
the run ends at its next safe point — before a host stages or flips, between batches, while a
health check waits — and leaves the record as a kill would: the restart sweep settles it.
"""

import logging
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from core import line
from core.actor import Actor
from core.alerts import suspects
from core.clock import Clock
from core.config import AndonConfig
from core.config_hosts import Environment, Host
from core.deploy import batches, health, lease, records, releases
from core.deploy.bundle import Builder, BuildError, BuildRefusedError, Bundle, Cut
from core.deploy.health import HealthCheck, HealthProbe
from core.deploy.manifest import UnsafeTreeError
from core.deploy.notices import DeployProgress
from core.deploy.records import DeployView
from core.deploy.source import Source, SourceError
from core.deploy.spec import SpecError, SpecRefusedError, Steps, server_steps, steps_for
from core.deploy.state import DeployState, HostStep, move, step
from core.deploy.transport import Connection, HostError, Transport
from core.home import viewers
from core.notifier import MessageRef, Notifier
from storage.tables import Deploy, DeployHost

log = logging.getLogger(__name__)

DEPLOY_ACTOR = Actor(id="andon:deploy", name="deploy", via="deploy")
_PROGRESS_EVERY = timedelta(milliseconds=250)
_COMMAND_TIMEOUT = 30 * 60.0

Units = Callable[[], AbstractContextManager[tuple[Session, Notifier]]]


def _never() -> bool:
    return False


@dataclass
class Crew:
    """The collaborators a run needs; the composition root builds it once."""

    units: Units
    clock: Clock
    config: AndonConfig
    source: Source | None
    transport_for: Callable[[str], Transport]
    sleep: Callable[[float], None]
    cut: Cut  # the revision's tree on this machine (``bot/releases/bundle.py``)
    probe: HealthProbe  # asks a health URL (``bot/probes/health.py``)
    workdir: Path | None = None
    builder: Builder | None = None  # runs a build command (the build's jail)
    stopping: Callable[[], bool] = _never  # Andon is stopping: end at the next safe point


class _HaltError(Exception):
    def __init__(self, host: str | None, reason: str, *, stops_line: bool = True) -> None:
        super().__init__(reason)
        self.host, self.reason, self.stops_line = host, reason, stops_line
        self.unhealthy = False

    def __str__(self) -> str:
        return f"{self.host}: {self.reason}" if self.host else self.reason


class _LostError(Exception):
    """The deploy is no longer ours (swept as interrupted): touch nothing more."""


class _StoppedError(Exception):
    """Andon is stopping and the run reached a safe point: leave the rest to the sweep."""


def run(crew: Crew, deploy_id: int) -> DeployState:
    """Run one recorded deploy to its end; returns how it ended."""
    return _Job(crew, deploy_id).run()


@dataclass
class _Target:
    position: int
    host: Host
    path: str
    previous: str | None = None
    flipped: bool = False


@dataclass
class _Job:
    crew: Crew
    deploy_id: int
    kind: str = ""
    environment: str = ""
    revision: str = ""
    env: Environment | None = None
    targets: list[_Target] = field(default_factory=list)
    steps: Steps | None = None
    bundle: Bundle | None = None
    connections: dict[int, Connection] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _announced: datetime | None = None

    def run(self) -> DeployState:
        try:
            self._checkpoint()
            if not self._begin():
                return DeployState.FAILED
            with tempfile.TemporaryDirectory(prefix="andon-deploy-", dir=self.crew.workdir) as tmp:
                if self.kind == "deploy":
                    self._prepare(Path(tmp))
                    self._checkpoint()
                    self._stage_everywhere()
                    self._checkpoint()
                    self._before_activate()
                else:
                    self._find_release_everywhere()
                for group in self._batches():
                    self._checkpoint()
                    self._activate(group)
                return self._succeed()
        except _HaltError as halt:
            return self._fail(halt)
        except _LostError:
            log.warning("deploy #%s was taken over; this run stops", self.deploy_id)
            return DeployState.INTERRUPTED
        except _StoppedError:
            log.warning(
                "deploy #%s stopped at a safe point as Andon stops; the next start settles it",
                self.deploy_id,
            )
            return DeployState.INTERRUPTED
        except Exception:
            log.exception("deploy #%s broke", self.deploy_id)
            return self._fail(_HaltError(None, "Andon failed internally (see its log)"))
        finally:
            self._close()

    # --- phases ----------------------------------------------------------------------------

    def _begin(self) -> bool:
        with self.crew.units() as (session, notifier):
            deploy = session.get(Deploy, self.deploy_id)
            if deploy is None or deploy.status != DeployState.PENDING:
                return False
            self.kind, self.environment = deploy.kind, deploy.environment
            self.revision = deploy.revision
            self.env = self.crew.config.environments[deploy.environment]
            self.targets = [
                _Target(position, host, self.env.host_path(host))
                for position, host in enumerate(self.env.hosts)
            ]
            self.steps = server_steps(self.crew.config, self.environment)
            move(deploy, DeployState.RUNNING)
            deploy.started_at = self.crew.clock.now()
            session.add(deploy)
            viewers.changed(session, clock=self.crew.clock)
            self._announce(session, notifier, force=True)
        return True

    def _prepare(self, workdir: Path) -> None:
        source = self.crew.source
        if source is None:
            raise _HaltError(None, "no [repo] path to cut the release from")
        try:
            self.steps = steps_for(self.crew.config, self.environment, source, self.revision)
            self.bundle = self.crew.cut(
                source,
                self.revision,
                workdir=workdir,
                build=self.steps.build,
                builder=self.crew.builder,
                from_repo=self.steps.build_from_repo,
            )
        except (SpecRefusedError, BuildRefusedError) as refused:
            # Andon's configuration said no before anything ran: nothing is wrong on the line.
            raise _HaltError(None, str(refused), stops_line=False) from None
        except (SpecError, BuildError, SourceError, UnsafeTreeError) as error:
            raise _HaltError(None, str(error)) from None

    def _stage_everywhere(self) -> None:
        """Nothing goes live until every host holds the complete release."""
        bundle = self.bundle
        assert bundle is not None and self.env is not None

        def stage(target: _Target) -> None:
            self._checkpoint()
            connection = self._connect(target)
            target.previous = releases.live_revision(connection, target.path)
            self._mark(target, HostStep.STAGING, started=True, previous=True)
            staged = releases.stage(connection, target.path, bundle)
            self._mark(target, HostStep.STAGED, staged=staged)

        self._halt_on(self._each(self.targets, stage, limit=self.env.max_parallel))

    def _find_release_everywhere(self) -> None:
        """A rollback needs its release on every host; it says which ones lack it."""
        assert self.env is not None
        missing: list[str] = []

        def look(target: _Target) -> None:
            connection = self._connect(target)
            target.previous, present = releases.look_up(connection, target.path, self.revision)
            if not present:
                with self._lock:
                    missing.append(target.host.address)

        failures = self._each(self.targets, look, limit=len(self.targets))
        self._mark_all(self.targets, None, started=True, previous=True)
        self._halt_on(failures)
        if missing:
            raise _HaltError(
                None,
                f"release {self.revision[:7]} is missing on {', '.join(sorted(missing))} — "
                "nothing was changed",
                stops_line=False,
            )

    def _before_activate(self) -> None:
        """Migrations and the like: once, on the first host, before anything goes live."""
        assert self.steps is not None
        if not self.steps.before_activate:
            return
        first = self.targets[0]
        connection = self.connections[first.position]
        cwd = releases.release_dir(first.path, self.revision)
        with self.crew.units() as (session, _):
            deploy = session.get(Deploy, self.deploy_id)
            assert deploy is not None
            deploy.migrated = True
            session.add(deploy)
        for command in self.steps.before_activate:
            self._command(connection, command, cwd=cwd, host=first.host.address, label="before")

    def _batches(self) -> list[list[_Target]]:
        assert self.env is not None
        if self.kind == "rollback":
            return [self.targets]  # an emergency: every host at once
        return batches.split(self.targets, self.env.batches)

    def _activate(self, group: Sequence[_Target]) -> None:
        assert self.env is not None and self.steps is not None
        if self.kind == "rollback":
            failures = self._flip_all(group)
        else:
            failures = self._each(group, self._go_live, limit=self.env.max_parallel)
        if not failures:
            return
        target, error = failures[0]
        if self.kind == "deploy":
            self._revert()
        halt = (
            error if isinstance(error, _HaltError) else _HaltError(target.host.address, str(error))
        )
        halt.host = halt.host or target.host.address
        raise halt

    def _flip_all(self, group: Sequence[_Target]) -> list[tuple[_Target, Exception]]:
        """A rollback: every host flips at once, recorded per phase rather than per host."""
        self._checkpoint()
        self._mark_all(group, HostStep.ACTIVATING)

        def flip(target: _Target) -> None:
            releases.activate(self._connect(target), target.path, self.revision)
            target.flipped = True

        failures = self._each(group, flip, limit=len(group))
        flipped = [target for target in group if target.flipped]
        assert self.steps is not None
        if self.steps.after_activate or self._view_health_checked():
            self._mark_all(flipped, HostStep.ACTIVE, activated=True)
            return failures + self._each(flipped, self._settle, limit=len(flipped))
        # Nothing to wait for after the flip: live and done in one transaction.
        both = (HostStep.ACTIVE, HostStep.HEALTHY)
        self._mark_all(flipped, both, activated=True, finished=True)
        return failures

    def _settle(self, target: _Target) -> None:
        """After the flip: ``after_activate`` commands, then the health check."""
        assert self.env is not None and self.steps is not None
        connection = self._connect(target)
        cwd = releases.release_dir(target.path, self.revision)
        for command in self.steps.after_activate:
            self._command(connection, command, cwd=cwd, host=target.host.address, label="after")
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
            sleep=self._nap,
        )
        if reason is not None:
            halt = _HaltError(target.host.address, reason)
            halt.unhealthy = True
            raise halt
        self._mark(target, HostStep.HEALTHY, finished=True)

    def _go_live(self, target: _Target) -> None:
        self._checkpoint()
        self._mark(target, HostStep.ACTIVATING)
        releases.activate(self._connect(target), target.path, self.revision)
        target.flipped = True
        self._mark(target, HostStep.ACTIVE, activated=True)
        self._settle(target)

    def _revert(self) -> None:
        """Flip every switched host back to what it ran before, all at once."""
        switched = [target for target in self.targets if target.flipped]

        def back(target: _Target) -> None:
            releases.activate(self._connect(target), target.path, target.previous)
            target.flipped = False
            self._mark(target, HostStep.REVERTED, finished=True)

        undone = self._each(switched, back, limit=max(len(switched), 1), mark=False)
        for target, error in undone:
            log.error("could not revert %s: %s", target.host.address, error)
            self._note(target, f"could not revert: {error}")

    # --- stopping --------------------------------------------------------------------------

    def _checkpoint(self) -> None:
        """A safe point: every step so far committed, every host on a complete release."""
        if self.crew.stopping():
            raise _StoppedError()

    def _nap(self, seconds: float) -> None:
        """The health check's wait between probes, which a stop cuts short."""
        self.crew.sleep(seconds)
        self._checkpoint()

    # --- endings ---------------------------------------------------------------------------

    def _succeed(self) -> DeployState:
        if self.kind == "deploy":
            self._prune()
        with self.crew.units() as (session, notifier):
            deploy = self._mine(session)
            now = self.crew.clock.now()
            left = self._left_revision()
            replaced = self._replaced(session)
            move(deploy, DeployState.SUCCEEDED)
            deploy.finished_at = now
            session.add(deploy)
            records.went_live(session, environment=self.environment, revision=self.revision, at=now)
            if replaced is not None and replaced.message_id is not None:
                # its *Roll back* button can no longer work: the message loses it
                shown = DeployProgress(self._view(session, replaced.id))
                notifier.update(MessageRef(replaced.message_id), shown)
            if left is not None:  # and so do the buttons of the pages that suspect it
                suspects.release_replaced(
                    session,
                    notifier=notifier,
                    clock=self.crew.clock,
                    config=self.crew.config,
                    environment=self.environment,
                    revision=left,
                )
            lease.release(session, environment=self.environment, deploy_id=self.deploy_id)
            if self.kind == "rollback" and left is not None:
                self._rolled_back_from(session, notifier, deploy, left)
            viewers.changed(session, clock=self.crew.clock)
            self._announce(session, notifier, force=True)
        return DeployState.SUCCEEDED

    def _rolled_back_from(
        self, session: Session, notifier: Notifier, deploy: Deploy, left: str
    ) -> None:
        """The release left behind is bad, and something escaped every check: the line stops."""
        who = Actor(deploy.requested_by, deploy.requested_by_name, deploy.via).called
        records.mark_bad(
            session,
            environment=self.environment,
            revision=left,
            reason=f"rolled back by {who}",
        )
        assert self.env is not None
        if self.env.rollback_stops_line:
            actor = Actor(deploy.requested_by, deploy.requested_by_name, deploy.via)
            line.stop(
                session,
                notifier=notifier,
                clock=self.crew.clock,
                actor=actor,
                reason=f"{self.environment} rolled back from {left[:7]} to {self.revision[:7]}",
            )

    def _replaced(self, session: Session) -> Deploy | None:
        """The deploy whose release runs until this one goes live — its message offers to roll
        back from it, which stops making sense once something else runs."""
        live = records.live(session, self.environment)
        if live is None or live.revision == self.revision:
            return None
        return session.exec(
            select(Deploy)
            .where(Deploy.environment == self.environment, Deploy.kind == "deploy")
            .where(Deploy.revision == live.revision, Deploy.status == DeployState.SUCCEEDED.value)
            .where(Deploy.id != self.deploy_id)
            .order_by(col(Deploy.id).desc())
        ).first()

    def _fail(self, halt: _HaltError) -> DeployState:
        sentence = f"{self.kind} of {self.revision[:7]} failed: {halt}"
        with self.crew.units() as (session, notifier):
            deploy = session.get(Deploy, self.deploy_id)
            if deploy is None or DeployState(deploy.status).finished:
                return DeployState(deploy.status) if deploy else DeployState.FAILED
            move(deploy, DeployState.FAILED)
            deploy.finished_at, deploy.error = self.crew.clock.now(), sentence
            session.add(deploy)
            lease.release(session, environment=self.environment, deploy_id=self.deploy_id)
            if halt.unhealthy and self.kind == "deploy":
                records.mark_bad(
                    session,
                    environment=self.environment,
                    revision=self.revision,
                    reason=f"failed its health check on {halt.host}",
                )
            if halt.stops_line:
                line.stop(
                    session,
                    notifier=notifier,
                    clock=self.crew.clock,
                    actor=DEPLOY_ACTOR,
                    reason=sentence,
                )
            viewers.changed(session, clock=self.crew.clock)
            self._announce(session, notifier, force=True)
        return DeployState.FAILED

    def _prune(self) -> None:
        """Old releases go after a good deploy; current and previous always stay."""
        assert self.env is not None
        with self.crew.units() as (session, _):
            order = [self.revision, *records.newest_first(session, self.environment)]
        keep = self.env.keep_releases

        def prune(target: _Target) -> None:
            protect = {self.revision} | ({target.previous} if target.previous else set())
            releases.prune(
                self._connect(target), target.path, keep=keep, protect=protect, newest=order
            )

        for target, error in self._each(self.targets, prune, limit=keep, mark=False):
            log.warning("pruning %s failed: %s", target.host.address, error)

    # --- hosts -----------------------------------------------------------------------------

    def _connect(self, target: _Target) -> Connection:
        with self._lock:
            found = self.connections.get(target.position)
        if found is not None:
            return found
        connection = self.crew.transport_for(self.environment).connect(target.host)
        with self._lock:
            self.connections[target.position] = connection
        return connection

    def _each(
        self,
        targets: Sequence[_Target],
        work: Callable[[_Target], None],
        *,
        limit: int,
        mark: bool = True,
    ) -> list[tuple[_Target, Exception]]:
        """Work on hosts in parallel; each failure is returned (and, with ``mark``, recorded)."""
        failures: list[tuple[_Target, Exception]] = []

        def guarded(target: _Target) -> None:
            try:
                work(target)
            except (HostError, _HaltError) as error:
                with self._lock:
                    failures.append((target, error))
                if mark:
                    self._host_failed(target, error)

        with ThreadPoolExecutor(max_workers=max(1, min(limit, len(targets) or 1))) as pool:
            list(pool.map(guarded, targets))
        return sorted(failures, key=lambda pair: pair[0].position)

    @staticmethod
    def _halt_on(failures: list[tuple[_Target, Exception]]) -> None:
        if failures:
            target, error = failures[0]
            if isinstance(error, _HaltError):
                raise error
            raise _HaltError(target.host.address, str(error))

    def _host_failed(self, target: _Target, error: Exception) -> None:
        reason = error.reason if isinstance(error, _HaltError) else str(error)
        try:
            self._mark(target, HostStep.FAILED, finished=True, error=reason)
        except _LostError:
            raise
        except Exception:
            log.exception("could not record the failure of %s", target.host.address)

    def _command(
        self, connection: Connection, command: str, *, cwd: str, host: str, label: str
    ) -> None:
        done = connection.run(command, cwd=cwd, timeout=_COMMAND_TIMEOUT)
        if not done.ok:
            tail = done.output.strip()[-300:]
            raise _HaltError(host, f"{label}_activate `{command}` exited {done.status}: {tail}")

    def _close(self) -> None:
        for connection in self.connections.values():
            try:
                connection.close()
            except Exception:
                log.debug("closing a connection failed", exc_info=True)

    # --- records ---------------------------------------------------------------------------

    def _mark(self, target: _Target, to: HostStep | None, **what: Any) -> None:
        """One host moved: record it and update the deploy's progress message."""
        self._mark_all([target], to, **what)

    def _mark_all(
        self,
        targets: Sequence[_Target],
        to: HostStep | tuple[HostStep, ...] | None,
        **what: Any,
    ) -> None:
        """Hosts moved together (through ``to``'s steps in order): one transaction, one progress
        update — what makes a rollback of twenty hosts fast."""
        steps = (to,) if isinstance(to, HostStep) else to or ()
        with self.crew.units() as (session, notifier):
            self._mine(session)
            now = self.crew.clock.now()
            rows = self._host_rows(session, [target.position for target in targets])
            for target in targets:
                row = rows[target.position]
                for move_to in steps:
                    if row.step != move_to:
                        step(row, move_to)
                _apply(row, target, now, what)
                session.add(row)
            self._announce(session, notifier)

    def _note(self, target: _Target, error: str) -> None:
        with self.crew.units() as (session, _):
            row = self._host_row(session, target.position)
            row.error = f"{row.error}; {error}" if row.error else error
            session.add(row)

    def _mine(self, session: Session) -> Deploy:
        deploy = session.get(Deploy, self.deploy_id)
        if deploy is None or deploy.status != DeployState.RUNNING:
            raise _LostError()
        return deploy

    def _host_row(self, session: Session, position: int) -> DeployHost:
        return session.exec(
            select(DeployHost).where(
                DeployHost.deploy_id == self.deploy_id, DeployHost.position == position
            )
        ).one()

    def _host_rows(self, session: Session, positions: Sequence[int]) -> dict[int, DeployHost]:
        """The hosts' rows in one query: a rollback of twenty hosts records them together."""
        found = session.exec(
            select(DeployHost).where(
                DeployHost.deploy_id == self.deploy_id, col(DeployHost.position).in_(positions)
            )
        )
        return {row.position: row for row in found}

    def _left_revision(self) -> str | None:
        known = {target.previous for target in self.targets if target.previous}
        known.discard(self.revision)
        return known.pop() if len(known) == 1 else None

    def _announce(self, session: Session, notifier: Notifier, *, force: bool = False) -> None:
        """Update the progress message — at most every ``_PROGRESS_EVERY`` while hosts move;
        the start and the end always (people read the message, not every step of 20 hosts)."""
        now = self.crew.clock.now()
        with self._lock:
            recent = self._announced is not None and now - self._announced < _PROGRESS_EVERY
            if recent and not force:
                return
            self._announced = now
        deploy = session.get(Deploy, self.deploy_id)
        if deploy is None or deploy.message_id is None:
            return
        notifier.update(MessageRef(deploy.message_id), DeployProgress(self._view(session)))

    def _view(self, session: Session, deploy_id: int | None = None) -> DeployView:
        return records.view(
            session, deploy_id or self.deploy_id, health_checked=self._view_health_checked()
        )

    def _view_health_checked(self) -> bool:
        assert self.env is not None
        command = self.steps.health_command if self.steps else self.env.health_command
        return bool(command or any(self.env.host_health_url(t.host) for t in self.targets))


def _apply(row: DeployHost, target: _Target, now: Any, what: dict[str, Any]) -> None:
    if what.get("started"):
        row.started_at = now
    if what.get("previous"):
        row.previous_revision = target.previous
    staged = what.get("staged")
    if staged is not None:
        row.staged_at, row.files_sent, row.bytes_sent = now, staged.files_sent, staged.bytes_sent
    if what.get("activated"):
        row.activated_at = now
    if what.get("finished"):
        row.finished_at = now
    if what.get("error"):
        row.error = what["error"]
