"""A deploy or rollback, run: stage everywhere, then flip batch by batch, or revert everything.

Two phases. First the release is staged on every host — uploaded, verified, renamed from
``.partial`` — and only then does anything go live, one batch at a time (the canary first).
When any host fails its upload, activation or health check, the deploy halts, every host
already switched is flipped back, and the line stops: the cluster immune system.

Three parts: the plan says what a deploy does and what a rollback does (``plan.py``), the
executor works on the hosts (``executor.py``), and the progress recorder keeps the record and
the progress message (``progress.py``). This module begins a run and records how it ended.
Every step is on record before the next one depends on it, so a crash anywhere leaves a record
that says how far it got, and hosts that each point at a complete release; when Andon stops, the
run ends at its next safe point and leaves the record as a kill would: the restart sweep settles
it.
"""

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, col, select

from core import line
from core.actor import Actor
from core.alerts import suspects, watched
from core.deploy import lease, records
from core.deploy.crew import Crew
from core.deploy.executor import Executor, HaltError, StoppedError
from core.deploy.notices import DeployProgress
from core.deploy.plan import Plan, plan_for
from core.deploy.progress import LostError, Progress
from core.deploy.resume_plan import RESUME_PLAN
from core.deploy.spec import server_steps
from core.deploy.state import DeployKind, DeployState, move
from core.home import viewers
from core.notifier import MessageRef, Notifier
from storage.tables import Deploy, Release

log = logging.getLogger(__name__)

DEPLOY_ACTOR = Actor(id="andon:deploy", name="deploy", via="deploy")


def run(crew: Crew, deploy_id: int) -> DeployState:
    """Run one recorded deploy to its end; returns how it ended."""
    return _Run(crew, deploy_id).run()


@dataclass
class _Run:
    crew: Crew
    deploy_id: int
    progress: Progress = field(init=False)
    plan: Plan | None = None
    hosts: Executor | None = None
    kind: str = ""
    revision: str = ""

    def __post_init__(self) -> None:
        self.progress = Progress(
            units=self.crew.units, clock=self.crew.clock, deploy_id=self.deploy_id
        )

    def run(self) -> DeployState:
        try:
            if self.crew.stopping():
                raise StoppedError()
            if not self._begin():
                return DeployState.FAILED
            assert self.plan is not None and self.hosts is not None
            with tempfile.TemporaryDirectory(prefix="andon-deploy-", dir=self.crew.workdir) as tmp:
                self.plan.prepare(self.hosts, workdir=Path(tmp))
                self.progress.health_checked = self.hosts.health_checked
                for group in self.plan.batches(self.hosts):
                    self.hosts.checkpoint()
                    self.progress.batch()
                    self.plan.activate(self.hosts, group)
                self.plan.finish(self.hosts)
                return self._succeed(self.plan, self.hosts)
        except HaltError as halt:
            return self._fail(halt)
        except LostError:
            log.warning("deploy #%s was taken over; this run stops", self.deploy_id)
            return DeployState.INTERRUPTED
        except StoppedError:
            log.warning(
                "deploy #%s stopped at a safe point as Andon stops; the next start settles it",
                self.deploy_id,
            )
            return DeployState.INTERRUPTED
        except Exception:
            log.exception("deploy #%s broke", self.deploy_id)
            return self._fail(HaltError(None, "Andon failed internally (see its log)"))
        finally:
            if self.hosts is not None:
                self.hosts.close()

    def _begin(self) -> bool:
        with self.crew.units() as (session, notifier):
            deploy = session.get(Deploy, self.deploy_id)
            if deploy is None or deploy.status != DeployState.PENDING:
                return False
            self.kind, self.revision = deploy.kind, deploy.revision
            resumed = deploy.resumes is not None  # the batches an interrupted deploy left
            self.plan = RESUME_PLAN if resumed else plan_for(deploy.kind)
            self.hosts = Executor(
                self.crew,
                environment=deploy.environment,
                env=self.crew.config.environments[deploy.environment],
                revision=deploy.revision,
                steps=server_steps(self.crew.config, deploy.environment),
                progress=self.progress,
            )
            self.progress.health_checked = self.hosts.health_checked
            move(deploy, DeployState.RUNNING)
            deploy.started_at = self.crew.clock.now()
            session.add(deploy)
            viewers.changed(session, clock=self.crew.clock)
            self.progress.begin(session, notifier, deploy)
        return True

    def _succeed(self, plan: Plan, hosts: Executor) -> DeployState:
        clock, environment = self.crew.clock, hosts.environment
        with self.crew.units() as (session, notifier):
            deploy = self.progress.mine(session)
            rows = self.progress.record(session)
            now = clock.now()
            left = hosts.left_revision()
            move(deploy, DeployState.SUCCEEDED)
            deploy.finished_at = now
            session.add(deploy)
            before = records.went_live(
                session, environment=environment, revision=self.revision, at=now
            )
            if before is not None:
                self._replaced(session, notifier, before)
            if left is not None:  # the pages that suspect the release left lose its button too
                suspects.release_replaced(
                    session,
                    notifier=notifier,
                    clock=clock,
                    config=self.crew.config,
                    environment=environment,
                    revision=left,
                )
            lease.release(session, environment=environment, deploy_id=self.deploy_id)
            plan.succeeded(session, notifier, hosts=hosts, deploy=deploy, before=before)
            viewers.changed(session, clock=clock)
            self.progress.show(session, notifier, deploy, rows, force=True)
        self.progress.keep(rows)
        return DeployState.SUCCEEDED

    def _page(
        self, session: Session, notifier: Notifier, metric: str, sentence: str, stoppage: int | None
    ) -> None:
        crew = self.crew
        watched.page(
            session,
            notifier=notifier,
            clock=crew.clock,
            config=crew.config,
            metric=metric,
            summary=sentence,
            stoppage_id=stoppage,
        )

    def _replaced(self, session: Session, notifier: Notifier, before: Release) -> None:
        """The deploy whose release ran until now offered to roll back from it, which stops
        making sense once something else runs: its message loses the *Roll back* button."""
        replaced = session.exec(
            select(Deploy)
            .where(Deploy.environment == before.environment, Deploy.kind == DeployKind.DEPLOY)
            .where(Deploy.revision == before.revision)
            .where(Deploy.status == DeployState.SUCCEEDED.value, Deploy.id != self.deploy_id)
            .order_by(col(Deploy.id).desc())
        ).first()
        if replaced is None or replaced.id is None or replaced.message_id is None:
            return
        rows = records.hosts(session, replaced.id)
        shown = records.view_of(replaced, rows, health_checked=False, live_revision=self.revision)
        notifier.update(MessageRef(replaced.message_id), DeployProgress(shown))

    def _fail(self, halt: HaltError) -> DeployState:
        sentence = f"{self.kind} of {self.revision[:7]} failed: {halt}"
        with self.crew.units() as (session, notifier):
            deploy = session.get(Deploy, self.deploy_id)
            if deploy is None or DeployState(deploy.status).finished:
                return DeployState(deploy.status) if deploy else DeployState.FAILED
            rows = self.progress.record(session)
            move(deploy, DeployState.FAILED)
            deploy.finished_at, deploy.error = self.crew.clock.now(), sentence
            session.add(deploy)
            lease.release(session, environment=deploy.environment, deploy_id=self.deploy_id)
            if self.plan is not None and self.hosts is not None:
                self.plan.failed(session, hosts=self.hosts, halt=halt)
            if halt.stops_line:  # (``stop_many``: the stop, without a view to return)
                causes = [(DEPLOY_ACTOR, sentence)]
                stopped = line.stop_many(
                    session, notifier=notifier, clock=self.crew.clock, causes=causes
                )
                if halt.metric is not None:  # the watch's verdict pages, as an alert would
                    self._page(session, notifier, halt.metric, sentence, stopped[0])
            viewers.changed(session, clock=self.crew.clock)
            self.progress.show(session, notifier, deploy, rows, force=True)
        self.progress.keep(rows)
        return DeployState.FAILED
