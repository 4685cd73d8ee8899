"""What a resumed deploy does: the batches its interrupted deploy had left, nothing before them.

The release is already staged on every host, so nothing is cut or uploaded; each host is asked
first whether it still stands where the record left it — live on the new release, or on the old
one with the new one complete beside it — and a host that does not fails the run before any
other goes live. ``before_activate`` runs only if no host went live yet (else it ran already).
The hosts done count as switched: when the run fails, they flip back, as in any failed deploy.
"""

import threading
from pathlib import Path

from core.deploy import batches, records, releases
from core.deploy.bundle import BuildRefusedError
from core.deploy.executor import Executor, HaltError, Target, halt_on
from core.deploy.plan import DeployPlan
from core.deploy.source import SourceError
from core.deploy.spec import SpecError, SpecRefusedError, steps_for
from core.deploy.state import HostStep
from storage.tables import Deploy, DeployHost


class ResumePlan(DeployPlan):
    """A deploy's plan from its next batch on (its kind stays ``deploy``)."""

    def prepare(self, hosts: Executor, *, workdir: Path) -> None:
        self._steps(hosts)
        with hosts.crew.units() as (session, _):
            deploy = session.get(Deploy, hosts.progress.deploy_id)
            assert deploy is not None
            rows = {row.position: row for row in records.hosts(session, hosts.progress.deploy_id)}
        try:
            self._look(hosts, rows, resumes=deploy.resumes)
        except HaltError:
            hosts.revert()  # a failed deploy leaves every host where it was before it
            raise
        hosts.checkpoint()
        if not any(target.flipped for target in hosts.targets):
            self._before_activate(hosts)

    def batches(self, hosts: Executor) -> list[list[Target]]:
        """The deploy's batches as they were cut, without the hosts already done."""
        left = [
            [target for target in group if not target.flipped]
            for group in batches.split(hosts.targets, hosts.env.batches)
        ]
        return [group for group in left if group]

    def _steps(self, hosts: Executor) -> None:
        """The steps the revision's own ``andon.deploy.toml`` asks for, as the deploy read them."""
        crew = hosts.crew
        if crew.source is None:
            raise HaltError(None, "no [repo] path to read the deploy's steps from")
        try:
            hosts.steps = steps_for(crew.config, hosts.environment, crew.source, hosts.revision)
        except (SpecRefusedError, BuildRefusedError) as refused:
            raise HaltError(None, str(refused), stops_line=False) from None
        except (SpecError, SourceError) as error:
            raise HaltError(None, str(error)) from None

    def _look(self, hosts: Executor, rows: dict[int, DeployHost], *, resumes: int | None) -> None:
        """Each host where the interrupted deploy left it, or the run stops, nothing changed."""
        astray: list[str] = []
        lock = threading.Lock()

        def look(target: Target) -> None:
            row = rows[target.position]
            done = row.step == HostStep.HEALTHY
            target.previous, target.flipped = row.previous_revision, done
            connection = hosts.connect(target)
            live, present = releases.look_up(connection, target.path, hosts.revision)
            expected = hosts.revision if done else row.previous_revision
            if live != expected or not present:
                said = f"{target.host.address} runs {_short(live)}"
                said += "" if present else f" and no longer holds {hosts.revision[:7]}"
                with lock:
                    astray.append(f"{said} (deploy {resumes} left it on {_short(expected)})")

        halt_on(hosts.each(hosts.targets, look, limit=hosts.env.max_parallel))
        if astray:
            raise HaltError(
                None,
                f"the hosts moved since the interruption: {'; '.join(sorted(astray))}",
                stops_line=False,
            )


def _short(revision: str | None) -> str:
    return revision[:7] if revision else "nothing"


RESUME_PLAN = ResumePlan()
