"""Deploys run in the background of the process that accepted them, renewing their lease.

The request (``core.deploy.request``) answers at once; this runs the recorded deploy in a
thread, keeps its lock alive while it runs, and after a crash sweeps deploys nobody runs. When
Andon stops, running deploys end at their next safe point and the next start sweeps them.
"""

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path

from sqlmodel import Session

from bot.bus.unit import Units
from bot.hosts.local import LocalTransport
from bot.intents.typed import Deploy as DeployIntent
from bot.intents.typed import ResumeDeploy
from bot.probes import health, metrics
from bot.releases import bundle
from bot.releases.git import GitSource
from bot.workers import holders
from bot.workers.jail import Jail, JailRefusedError, jail_for
from core.actor import AUTO_DEPLOY, AUTO_RESUME, Actor
from core.clock import Clock
from core.config.build import BuildConfig
from core.config.file import AndonConfig
from core.config.hosts import Environment, Host
from core.deploy import auto, lease, recovery, status
from core.deploy.bundle import BuildError, BuildRefusedError
from core.deploy.run import Crew, run
from core.deploy.source import Source
from core.deploy.state import DeployState
from core.deploy.transport import Connection, Transport
from core.refusal import Refusal
from storage.database import Database
from storage.tables import Deploy

log = logging.getLogger(__name__)

BUILD_TAIL = 600  # characters of a failed build's output in its deploy's error
ANSWER_WAIT = 10.0  # seconds a deploy waits for the person who started it to be answered


class Hosts:
    """One transport per environment — SSH with its key and known_hosts, or a local directory."""

    def __init__(self, environments: dict[str, Environment]) -> None:
        self._environments = environments
        self._transports: dict[str, Transport] = {}
        self._lock = threading.Lock()

    def __call__(self, environment: str) -> Transport:
        with self._lock:
            if environment not in self._transports:
                env = self._environments[environment]
                self._transports[environment] = _Mixed(partial(_ssh, env), LocalTransport())
            return self._transports[environment]

    def close(self) -> None:
        with self._lock:
            for transport in self._transports.values():
                transport.close()
            self._transports.clear()


def _ssh(env: Environment) -> Transport:
    """SSH (paramiko) is loaded for the first remote host, not by every command that opens the
    engine: ``andon line status`` has no use for it."""
    from bot.hosts.ssh import SshTransport

    return SshTransport(
        env.ssh_key,
        env.known_hosts,
        ssh_config=env.ssh_config,
        max_connections=env.max_connections,
    )


class _Mixed:
    """``hosts = ["local", "deploy@web1"]``: each host by the way it is reached."""

    def __init__(self, ssh: Callable[[], Transport], local: Transport) -> None:
        self._make_ssh, self._local = ssh, local
        self._ssh: Transport | None = None
        self._made = threading.Lock()  # hosts of one batch connect from several threads

    def connect(self, host: Host) -> Connection:
        if host.is_local:
            return self._local.connect(host)
        with self._made:
            if self._ssh is None:
                self._ssh = self._make_ssh()
            ssh = self._ssh
        return ssh.connect(host)

    def close(self) -> None:
        if self._ssh is not None:
            self._ssh.close()
        self._local.close()


class JailedBuild:
    """The deploy's build, run in the build's jail: the repository's there as the build user
    with a bare environment, the server's own as Andon — both within ``[build] timeout``."""

    def __init__(self, jail: Jail, *, timeout: timedelta) -> None:
        self._jail, self._timeout = jail, timeout

    def __call__(self, command: str, *, cwd: Path, from_repo: bool) -> None:
        try:
            ran = self._jail.run(command, cwd=cwd, timeout=self._timeout, trusted=not from_repo)
        except JailRefusedError as refused:
            raise BuildRefusedError(f"the build was not run: {refused}") from None
        except OSError as cannot:
            raise BuildError(f"build command could not be started: {cannot}") from None
        if ran.ok:
            return
        tail = ran.output.strip()[-BUILD_TAIL:].lstrip()
        if ran.cut_off is not None:
            said = f"build command {ran.cut_off}"
            raise BuildError(f"{said}; its last output: {tail}" if tail else said)
        raise BuildError(f"build command exited {ran.status}: {tail or 'no output'}")


class Deployer:
    """Runs accepted deploys; one thread each, the lease renewed while it runs.

    The bus launches a deploy once the request that accepted it has committed; auto-deploy asks
    for one through ``execute`` (the bus's door for commands) like any person would."""

    def __init__(
        self,
        *,
        config: AndonConfig,
        clock: Clock,
        database: Database,
        units: Units,
        execute: Callable[[DeployIntent | ResumeDeploy, Actor], object],
        jail: Jail | None = None,
        sleep: Callable[[float], None] | None = None,
        workdir: Path | None = None,
    ) -> None:
        self.config, self.clock, self.database, self.units = config, clock, database, units
        self._execute = execute
        self._stopping = threading.Event()
        self.holder = holders.token()
        repo = config.repo
        self.source: Source | None = GitSource(repo.path) if repo else None
        self.hosts = Hosts(config.environments)
        self.crew = Crew(
            units=units,
            clock=clock,
            config=config,
            source=self.source,
            transport_for=self.hosts,
            sleep=sleep or self._sleep,
            cut=bundle.cut,
            probe=health.probe,
            workdir=workdir,
            builder=JailedBuild(
                jail or jail_for(config), timeout=(config.build or BuildConfig()).timeout
            ),
            stopping=self._stopping.is_set,
            metrics=metrics.get,
        )
        self._threads: dict[int, threading.Thread] = {}
        self._ticking = threading.Lock()
        # environment -> (revision, rule) auto-deploy was last refused for: audited once
        self._refused: dict[str, tuple[str, str] | None] = {}

    def launch(self, deploy_id: int, *, after: threading.Event | None = None) -> threading.Thread:
        """Run the deploy in the background — once ``after`` is set (the person who asked has
        been answered), or after ``ANSWER_WAIT`` at most."""
        thread = threading.Thread(
            target=self._run_after,
            args=(deploy_id, after),
            name=f"andon-deploy-{deploy_id}",
            daemon=True,
        )
        self._threads[deploy_id] = thread
        thread.start()
        return thread

    def _run_after(self, deploy_id: int, after: threading.Event | None) -> DeployState:
        if after is not None:
            after.wait(ANSWER_WAIT)
        return self.run(deploy_id)

    def run(self, deploy_id: int) -> DeployState:
        """Run in this thread (the CLI waits for it); the lease is renewed beside it."""
        done = threading.Event()
        renewing = threading.Thread(
            target=self._renew, args=(deploy_id, done), name=f"andon-lease-{deploy_id}", daemon=True
        )
        renewing.start()
        try:
            return run(self.crew, deploy_id)
        finally:
            done.set()
            self._threads.pop(deploy_id, None)

    def recover(self) -> list[int]:
        """Sweep deploys left by a dead process (on start, then on every scheduler tick)."""
        is_dead = partial(holders.is_dead, me=self.holder)
        with self.database.reading() as session:
            abandoned = recovery.abandoned(session, clock=self.clock, is_dead=is_dead)
        if not abandoned:
            return []
        standing = {deploy_id: self._ask(env) for deploy_id, env in abandoned}
        with self.units() as (session, outbox):
            swept = recovery.sweep(
                session,
                notifier=outbox,
                clock=self.clock,
                is_dead=is_dead,
                standing=standing,
            )
        for deploy_id in swept:
            log.warning("deploy #%s was interrupted: its process is gone", deploy_id)
        self._resume({env for deploy_id, env in abandoned if deploy_id in swept})
        return swept

    def _resume(self, environments: set[str]) -> None:
        """``resume = true``: an interrupted deploy continues by itself, by the rules a person's
        ``/deploy resume`` obeys (refused, it stays interrupted and the refusal is audited)."""
        for environment in sorted(environments):
            env = self.config.environments.get(environment)
            if env is not None and env.resume and not self._stopping.is_set():
                self._execute(ResumeDeploy(environment), AUTO_RESUME)

    def _ask(self, environment: str) -> recovery.Standing:
        """What each host runs now: the hosts know, the record of a dead process does not."""
        env = self.config.environments.get(environment)
        if env is None:
            return {}
        return {state.address: state for state in status.ask(self.hosts(environment), env)}

    def nudge(self) -> None:
        """Run a tick now, beside the caller: a green build may be waiting to ship."""
        if any(env.auto_deploy for env in self.config.environments.values()):
            threading.Thread(target=self.tick, name="andon-deploy-nudge", daemon=True).start()

    def tick(self, *, wait: bool = False) -> None:
        """The scheduler's call: sweep the dead, then ship what auto-deploy would. A tick already
        at it makes this one a no-op — unless ``wait``: then this one runs after it."""
        if self._stopping.is_set() or not self._ticking.acquire(blocking=wait):
            return  # Andon is stopping, or a tick is already at it
        try:
            self.recover()
            for name, environment in self.config.environments.items():
                if environment.auto_deploy and self.source is not None:
                    self._auto_deploy(name, self.source)
        except Exception:
            log.exception("the deploy tick failed")
        finally:
            self._ticking.release()

    def sweep(self) -> None:
        """The scheduler's quicker call, the sweep alone: a deploy whose replica died is settled
        within a second of its lease running out, not a whole tick later."""
        if self._stopping.is_set() or not self._ticking.acquire(blocking=False):
            return
        try:
            self.recover()
        except Exception:
            log.exception("the deploy sweep failed")
        finally:
            self._ticking.release()

    def _auto_deploy(self, environment: str, source: Source) -> None:
        """Ship the candidate; a refusal that repeats tick after tick is audited when its reason
        (the rule, for that revision) changes, not at every tick."""
        config, clock = self.config, self.clock
        with self.database.reading() as session:
            revision = auto.candidate(
                session, config=config, clock=clock, environment=environment, source=source
            )
            if revision is None:
                return
            refused = auto.refusal(
                session, config=config, clock=clock, environment=environment, revision=revision
            )
        if refused is not None and self._refused.get(environment) == _why(revision, refused):
            return
        result = self._execute(DeployIntent(revision, environment), AUTO_DEPLOY)
        refusal = result if isinstance(result, Refusal) else None
        self._refused[environment] = _why(revision, refusal) if refusal else None

    def wait(self, timeout: float | None = None) -> None:
        for thread in list(self._threads.values()):
            thread.join(timeout)

    def stop_taking_work(self) -> None:
        """Andon is stopping: no tick ships anything, and each running deploy ends at its next
        safe point (``core.deploy.run``)."""
        self._stopping.set()

    def finish(self, timeout: float) -> list[int]:
        """Wait up to ``timeout`` for running deploys to end; the ids still mid-step are left as
        a kill would leave them, for the next start's sweep."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads.values()):
            thread.join(max(deadline - time.monotonic(), 0))
        left = sorted(i for i, thread in list(self._threads.items()) if thread.is_alive())
        for deploy_id in left:
            log.warning(
                "deploy #%s is mid-step as Andon stops: the next start settles it", deploy_id
            )
        return left

    def close(self) -> None:
        self.hosts.close()

    def _sleep(self, seconds: float) -> None:
        """A wait in a deploy (between health probes) that a stop ends at once."""
        self._stopping.wait(seconds)

    def _renew(self, deploy_id: int, done: threading.Event) -> None:
        while not done.wait(lease.RENEW_EVERY):
            try:
                with self.database.writing() as session:
                    environment = _environment_of(session, deploy_id)
                    clock = self.clock
                    if environment is None or not lease.renew(
                        session, environment=environment, deploy_id=deploy_id, clock=clock
                    ):
                        return
            except Exception:
                log.exception("could not renew the lease of deploy #%s", deploy_id)


def _why(revision: str, refusal: Refusal) -> tuple[str, str]:
    return revision, refusal.rule or refusal.reason


def _environment_of(session: Session, deploy_id: int) -> str | None:
    deploy = session.get(Deploy, deploy_id)
    return deploy.environment if deploy is not None else None
