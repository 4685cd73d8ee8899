"""A deploy under watch: a baseline before the first batch, then each batch watched for a while.

``watch = ["signups"]`` on an environment names the ``[[checks]]`` a deploy there watches.
Before the first batch goes live the metrics are read once: the baseline. After each batch they
are read again and again for ``watch_for`` (``core/watch/watching.py``). A metric read host by
host compares the hosts that run the release with the hosts that do not yet, in the same
moment, so a dip of the whole fleet is not the release's doing; the last batch, with no host
left to compare with, and a metric of the whole fleet compare with the baseline. The first
thing that got worse is the verdict: the plan reverts every switched host and the line stops.
"""

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from core import words
from core.checks.judge import number
from core.config.hosts import Environment
from core.deploy.crew import Crew
from core.deploy.progress import Progress
from core.watch.metrics import Look, Metrics, Sample, judged, relative, share
from core.watch.watching import watch

LOOKS_PER_BATCH = 5  # a batch is looked at at least this often while it is watched


class WatchError(Exception):
    """The baseline could not be read: nothing went live, nothing is known to be wrong."""


@dataclass
class DeployWatch:
    """The watch of one run: its metrics, their baseline, and how many batches went live."""

    metrics: Metrics
    baseline: Look
    env: Environment
    crew: Crew
    progress: Progress
    batches: int
    done: int = field(default=0, init=False)

    @classmethod
    def begin(
        cls, crew: Crew, *, environment: str, progress: Progress, batches: int
    ) -> "DeployWatch | None":
        """The baseline, read before the first batch; ``None`` when the environment watches
        nothing. ``WatchError`` when a watched metric cannot be read."""
        env = crew.config.environments[environment]
        if not env.watch:
            return None
        if crew.metrics is None:
            raise WatchError("Andon has no way to read metrics here")
        named = {check.name: check for check in crew.config.checks}
        metrics = Metrics(
            checks=[named[name] for name in env.watch],
            hosts=env.hosts,
            reader=crew.metrics,
            transport_for=crew.transport_for,
            environments=crew.config.environments,
        )
        baseline = metrics.look()
        unseen = [f"{name}: {s.error}" for name, s in baseline.items() if s.error is not None]
        if unseen:
            raise WatchError(f"the baseline could not be read ({'; '.join(unseen)})")
        return cls(metrics, baseline, env, crew, progress, batches)

    def after_batch(self, *, switched: Collection[str], nap: Callable[[float], None]) -> str | None:
        """Watch the batch that just went live for ``watch_for``: the first thing that got worse,
        as a sentence, or ``None``."""
        self.done += 1
        left = [host.address for host in self.env.hosts if host.address not in switched]
        try:
            return watch(
                read=self.metrics.look,
                baseline=self.baseline,
                verdict=partial(judged, self.metrics.checks, switched=switched, left=left),
                lasting=self.env.watch_for,
                every=self._every(),
                clock=self.crew.clock,
                nap=nap,
                seen=lambda look: self.progress.watched(self._shown(look, switched, left)),
            )
        finally:
            self.progress.watching = None

    def _every(self) -> timedelta:
        often = min(check.every for check in self.metrics.checks)
        return min(often, self.env.watch_for / LOOKS_PER_BATCH)

    def _shown(self, look: Look, switched: Collection[str], left: Collection[str]) -> str:
        """What the message says while it waits: each metric against its baseline."""
        said = [
            _metric(name, sample, self.baseline[name], switched, left)
            for name, sample in look.items()
        ]
        batch = f"batch {self.done} of {self.batches}"
        return f"Watching {batch} for {words.span(self.env.watch_for)}: {'; '.join(said)}"


def _metric(
    name: str, sample: Sample, baseline: Sample, switched: Collection[str], left: Collection[str]
) -> str:
    if sample.error is not None:
        return f"{name} could not be read"
    normal = baseline.mean()
    against = f"baseline {_number(normal)}"
    if sample.hosts and left:
        canary, others = _number(sample.mean(switched)), _number(sample.mean(left))
        return f"{name} {canary} on the new release, {others} on the rest ({against})"
    value = sample.mean(switched if sample.hosts else None)
    change = relative(value, normal) if value is not None else None
    moved = f", {'+' if change >= 0 else '−'}{share(abs(change))}" if change is not None else ""
    return f"{name} {_number(value)} ({against}{moved})"


def _number(value: float | None) -> str:
    return "?" if value is None else number(value)
