"""What a deploy does and what a rollback does: two plans over the same hosts.

A deploy cuts the release and stages it on every host — nothing goes live until every host
holds it whole — runs ``before_activate`` once, then goes live batch by batch (the canary
first); when a host fails, every switched host flips back. A rollback is an emergency: its
release must already be on every host, every host flips at once and none flips back, and since
something escaped every check, the release it left is marked bad and the line stops.
"""

import logging
from collections.abc import Sequence
from pathlib import Path

from sqlmodel import Session

from core import line
from core.actor import Actor
from core.deploy import batches, records, releases
from core.deploy.bundle import BuildError, BuildRefusedError
from core.deploy.executor import Executor, Failures, HaltError, Target, halt_on
from core.deploy.manifest import UnsafeTreeError
from core.deploy.source import SourceError
from core.deploy.spec import SpecError, SpecRefusedError, steps_for
from core.deploy.state import DeployKind, HostStep
from core.deploy.transport import Connection, Later
from core.deploy.watch import DeployWatch, WatchError
from core.notifier import Notifier
from core.watch.metrics import named
from storage.tables import Deploy, Release

log = logging.getLogger(__name__)


class Plan:
    """What a run of one kind does; what it does not do, it leaves to these no-ops."""

    kind: DeployKind

    def prepare(self, hosts: Executor, *, workdir: Path) -> None:
        """Everything before the first host goes live."""
        raise NotImplementedError

    def batches(self, hosts: Executor) -> list[list[Target]]:
        """The hosts that go live together, in order."""
        raise NotImplementedError

    def activate(self, hosts: Executor, group: Sequence[Target]) -> None:
        """One batch live, or ``HaltError``."""
        raise NotImplementedError

    def finish(self, hosts: Executor) -> None:
        """After the last batch, before the end is recorded."""

    def succeeded(
        self,
        session: Session,
        notifier: Notifier,
        *,
        hosts: Executor,
        deploy: Deploy,
        before: Release | None,
    ) -> None:
        """In the end's unit of work, once the release runs everywhere (``before``: the
        release that ran until now, as recorded)."""

    def failed(self, session: Session, *, hosts: Executor, halt: HaltError) -> None:
        """In the end's unit of work, once the run has failed."""


class DeployPlan(Plan):
    kind = DeployKind.DEPLOY

    def prepare(self, hosts: Executor, *, workdir: Path) -> None:
        self._cut(hosts, workdir)
        hosts.checkpoint()
        hosts.progress.batch()  # staging is a batch of every host
        self._stage_everywhere(hosts)
        hosts.checkpoint()
        self._before_activate(hosts)

    def batches(self, hosts: Executor) -> list[list[Target]]:
        groups = batches.split(hosts.targets, hosts.env.batches)
        try:  # the baseline, read before the first batch goes live
            hosts.watch = DeployWatch.begin(
                hosts.crew,
                environment=hosts.environment,
                progress=hosts.progress,
                batches=len(groups),
            )
        except WatchError as error:  # nothing went live, and nothing is known to be wrong
            raise HaltError(None, f"{error}; nothing went live", stops_line=False) from None
        return groups

    def activate(self, hosts: Executor, group: Sequence[Target]) -> None:
        failures = hosts.activate(group, limit=hosts.env.max_parallel)
        if failures:
            hosts.revert()
            raise _halt(failures)
        if hosts.watch is not None:
            self._watch(hosts, hosts.watch)

    def _watch(self, hosts: Executor, watch: DeployWatch) -> None:
        """The batch went live: its metrics are watched, and what got worse reverts it."""
        switched = {target.host.address for target in hosts.targets if target.flipped}
        found = watch.after_batch(switched=switched, nap=hosts.nap)
        if found is None:
            return
        hosts.revert()
        halt = HaltError(None, f"{found} during batch {watch.done} of {hosts.revision[:7]}")
        halt.watched, halt.metric = True, named(watch.metrics.checks, found)
        raise halt

    def finish(self, hosts: Executor) -> None:
        """Old releases go after a good deploy, ``max_parallel`` hosts at a time (as staging);
        current and previous always stay."""
        with hosts.crew.units() as (session, _):
            order = [hosts.revision, *records.newest_first(session, hosts.environment)]
        keep = hosts.env.keep_releases

        def prune(target: Target) -> None:
            protect = {hosts.revision} | ({target.previous} if target.previous else set())
            connection = hosts.connect(target)
            releases.prune(connection, target.path, keep=keep, protect=protect, newest=order)

        pruned = hosts.each(hosts.targets, prune, limit=hosts.env.max_parallel, mark=False)
        for target, error in pruned:
            log.warning("pruning %s failed: %s", target.host.address, error)

    def failed(self, session: Session, *, hosts: Executor, halt: HaltError) -> None:
        if halt.watched:
            records.mark_bad(
                session, environment=hosts.environment, revision=hosts.revision, reason=halt.reason
            )
        elif halt.unhealthy:
            records.mark_bad(
                session,
                environment=hosts.environment,
                revision=hosts.revision,
                reason=f"failed its health check on {halt.host}",
            )

    def _cut(self, hosts: Executor, workdir: Path) -> None:
        crew = hosts.crew
        if crew.source is None:
            raise HaltError(None, "no [repo] path to cut the release from")
        try:
            hosts.steps = steps_for(crew.config, hosts.environment, crew.source, hosts.revision)
            hosts.bundle = crew.cut(
                crew.source,
                hosts.revision,
                workdir=workdir,
                build=hosts.steps.build,
                builder=crew.builder,
                from_repo=hosts.steps.build_from_repo,
            )
        except (SpecRefusedError, BuildRefusedError) as refused:
            # Andon's configuration said no before anything ran: nothing is wrong on the line.
            raise HaltError(None, str(refused), stops_line=False) from None
        except (SpecError, BuildError, SourceError, UnsafeTreeError) as error:
            raise HaltError(None, str(error)) from None

    def _stage_everywhere(self, hosts: Executor) -> None:
        """Nothing goes live until every host holds the complete release."""
        bundle = hosts.bundle
        assert bundle is not None

        def stage(target: Target) -> None:
            hosts.checkpoint()
            connection = hosts.connect(target)
            target.previous = releases.live_revision(connection, target.path)
            started = hosts.moves([target], HostStep.STAGING, started=True, looked=True)
            hosts.progress.write(started)
            staged = releases.stage(connection, target.path, bundle)
            hosts.progress.write(hosts.moves([target], HostStep.STAGED, staged=staged))

        halt_on(hosts.each(hosts.targets, stage, limit=hosts.env.max_parallel))

    def _before_activate(self, hosts: Executor) -> None:
        """Migrations and the like: once, on the first host, before anything goes live."""
        if not hosts.steps.before_activate:
            return
        first = hosts.targets[0]
        cwd = releases.release_dir(first.path, hosts.revision)
        with hosts.crew.units() as (session, _):
            deploy = session.get(Deploy, hosts.progress.deploy_id)
            assert deploy is not None
            deploy.migrated = True
            session.add(deploy)
        connection = hosts.connect(first)
        try:
            for command in hosts.steps.before_activate:
                address = first.host.address
                hosts.command(connection, command, cwd=cwd, host=address, label="before")
        finally:
            hosts.give_back(first)


class RollbackPlan(Plan):
    kind = DeployKind.ROLLBACK

    def prepare(self, hosts: Executor, *, workdir: Path) -> None:
        """A rollback needs its release on every host; it says which ones lack it."""
        missing: list[str] = []

        def look(target: Target, connection: Connection) -> Later[tuple[str | None, bool]]:
            return releases.look_up_soon(connection, target.path, hosts.revision)

        def looked(target: Target, found: tuple[str | None, bool]) -> None:
            target.previous, present = found
            if not present:
                missing.append(target.host.address)

        failures = hosts.each_at_once(hosts.targets, look, looked, limit=None)
        hosts.progress.note(hosts.moves(hosts.targets, started=True, looked=True))
        halt_on(failures)
        if missing:
            raise HaltError(
                None,
                f"release {hosts.revision[:7]} is missing on {', '.join(sorted(missing))} — "
                "nothing was changed",
                stops_line=False,
            )

    def batches(self, hosts: Executor) -> list[list[Target]]:
        return [hosts.targets]  # an emergency: every host at once

    def activate(self, hosts: Executor, group: Sequence[Target]) -> None:
        failures = hosts.activate(group, limit=None)  # as many at once as the pool allows
        if failures:
            raise _halt(failures)

    def succeeded(
        self,
        session: Session,
        notifier: Notifier,
        *,
        hosts: Executor,
        deploy: Deploy,
        before: Release | None,
    ) -> None:
        """The release left behind is bad, and something escaped every check: the line stops."""
        left = hosts.left_revision()
        if left is None:
            return
        who = Actor(deploy.requested_by, deploy.requested_by_name, deploy.via)
        records.mark_bad(
            session,
            environment=hosts.environment,
            revision=left,
            reason=f"rolled back by {who.called}",
            known=before,
        )
        if hosts.env.rollback_stops_line:  # (``stop_many``: the stop, without a view to return)
            said = f"{hosts.environment} rolled back from {left[:7]} to {hosts.revision[:7]}"
            line.stop_many(session, notifier=notifier, clock=hosts.crew.clock, causes=[(who, said)])


_PLANS: dict[DeployKind, Plan] = {
    DeployKind.DEPLOY: DeployPlan(),
    DeployKind.ROLLBACK: RollbackPlan(),
}


def plan_for(kind: str) -> Plan:
    """The plan of a recorded deploy's kind."""
    return _PLANS[DeployKind(kind)]


def _halt(failures: Failures) -> HaltError:
    """A batch's first failure, named by its host."""
    target, error = failures[0]
    halt = error if isinstance(error, HaltError) else HaltError(target.host.address, str(error))
    halt.host = halt.host or target.host.address
    return halt
