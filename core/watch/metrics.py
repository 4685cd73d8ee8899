"""Watched metrics: each ``[[checks]]`` read once, fleet-wide or host by host, and what got worse.

A check whose URL holds ``{host}`` (or ``{port}``, ``{user}``) is read on each host, so the
hosts that run a change can be compared with the hosts that do not yet; any other check is read
once for the whole fleet. Reading goes through the checks' own ``MetricReader`` port.
"""

from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from core.checks.judge import number
from core.checks.metric_reader import MetricReader
from core.checks.readings import MAX_HOSTS_AT_ONCE, CheckError, Reading, read, read_host
from core.config.alerts import Check
from core.config.hosts import Environment, Host
from core.config.values import per_host
from core.deploy.transport import Transport


@dataclass(frozen=True)
class Sample:
    """One metric read once: its value, each host's (read per host), or why it could not be."""

    value: float | None = None
    hosts: Mapping[str, float] = field(default_factory=dict)  # host address → value
    error: str | None = None

    def mean(self, among: Collection[str] | None = None) -> float | None:
        """The value, or the hosts' mean (of ``among`` only, when given)."""
        if not self.hosts:
            return self.value
        found = [value for host, value in self.hosts.items() if among is None or host in among]
        return sum(found) / len(found) if found else None


Look = dict[str, Sample]  # every watched metric, by its check's name


@dataclass(frozen=True)
class Metrics:
    """How the watched checks are read: the endpoint port, the hosts' transports, the hosts."""

    checks: Sequence[Check]
    hosts: Sequence[Host]
    reader: MetricReader
    transport_for: Callable[[str], Transport]
    environments: Mapping[str, Environment]
    timeout: float = 10

    def look(self) -> Look:
        """Every watched metric read once, all at the same time."""
        asks = [(check, host) for check in self.checks for host in self._where(check)]
        with ThreadPoolExecutor(max_workers=max(1, min(len(asks), MAX_HOSTS_AT_ONCE))) as pool:
            found = list(pool.map(lambda ask: self._read(*ask), asks))
        return {check.name: self._sample(check, asks, found) for check in self.checks}

    def _where(self, check: Check) -> Sequence[Host | None]:
        return list(self.hosts) if per_host(check.url) else [None]

    def _read(self, check: Check, host: Host | None) -> Reading | CheckError:
        try:
            if host is not None:
                return read_host(check, host, metrics=self.reader, timeout=self.timeout)
            return read(
                check,
                metrics=self.reader,
                transport_for=self.transport_for,
                environments=self.environments,
                timeout=self.timeout,
            )
        except CheckError as error:
            return error

    def _sample(
        self,
        check: Check,
        asks: Sequence[tuple[Check, Host | None]],
        found: Sequence[Reading | CheckError],
    ) -> Sample:
        mine = [item for (asked, _), item in zip(asks, found, strict=True) if asked is check]
        failed = [item for item in mine if isinstance(item, CheckError)]
        if failed:
            return Sample(error=str(failed[0]))
        readings = [item for item in mine if isinstance(item, Reading)]
        if not per_host(check.url):
            return Sample(value=readings[0].value)
        return Sample(hosts={reading.where or "": reading.value for reading in readings})


def stored(look: Look) -> dict[str, Any]:
    """A look as a JSON column keeps it: a watch's baseline outlives the process that read it."""
    return {
        name: {"value": sample.value, "hosts": dict(sample.hosts), "error": sample.error}
        for name, sample in look.items()
    }


def restored(kept: Mapping[str, Any]) -> Look:
    """A look from its JSON column."""
    return {
        name: Sample(
            value=found.get("value"), hosts=found.get("hosts") or {}, error=found.get("error")
        )
        for name, found in kept.items()
    }


def judged(
    checks: Sequence[Check],
    look: Look,
    baseline: Look,
    *,
    switched: Collection[str] | None = None,
    left: Collection[str] = (),
) -> str | None:
    """The first watched metric that got worse, as a sentence, or ``None``. ``switched``: the
    hosts that run the change (all, when ``None``); ``left``: those that do not yet — a metric read
    per host compares the two, any other compares with the baseline."""
    for check in checks:
        sample = look[check.name]
        if sample.error is not None:
            return f"{check.name} could not be read ({sample.error})"
        changed = sample.mean(switched if sample.hosts else None)
        if changed is None:
            continue
        if sample.hosts and left:
            others = sample.mean(left)
            # A bound the hosts not yet switched cross too is crossed by the whole fleet.
            found = worse(
                check,
                changed,
                others,
                compared="the hosts not yet switched",
                bounds=within(check, others),
            )
        else:
            found = worse(check, changed, baseline[check.name].mean(), compared="the baseline")
        if found is not None:
            return found
    return None


def named(checks: Sequence[Check], verdict: str) -> str:
    """The watched metric a verdict of ``judged`` is about (each sentence begins with it)."""
    found = [check.name for check in checks if verdict.startswith(f"{check.name} ")]
    return max(found, key=len) if found else verdict.split(" ", 1)[0]


def worse(
    check: Check, value: float, normal: float | None, *, compared: str, bounds: bool = True
) -> str | None:
    """What got worse, as a sentence: past the check's ``min``/``max`` (with ``bounds``), or
    more than ``max_drop`` below or ``max_rise`` above ``normal`` — ``compared`` names it."""
    if bounds and check.min is not None and value < check.min:
        return f"{check.name} fell to {number(value)}, below its min of {number(check.min)},"
    if bounds and check.max is not None and value > check.max:
        return f"{check.name} rose to {number(value)}, above its max of {number(check.max)},"
    change = relative(value, normal)
    if change is None:
        return None
    if check.max_drop is not None and -change > check.max_drop:
        return f"{check.name} fell {share(-change)} below {compared}"
    if check.max_rise is not None and change > check.max_rise:
        return f"{check.name} rose {share(change)} above {compared}"
    return None


def within(check: Check, value: float | None) -> bool:
    """Inside the check's own ``min``/``max`` (a value not read is not outside)."""
    if value is None:
        return True
    low = check.min is None or value >= check.min
    return low and (check.max is None or value <= check.max)


def relative(value: float, normal: float | None) -> float | None:
    """How much higher (above 0) or lower than normal; none from a normal of 0 or less, where a
    share means nothing (give the check a ``max`` for metrics that are 0 when all is well)."""
    if normal is None or normal <= 0:
        return None
    return (value - normal) / normal


def share(fraction: float) -> str:
    """``0.342`` → ``34%``."""
    return f"{number(round(fraction * 100, 1))}%"
