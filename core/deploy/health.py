"""Is the host healthy after the flip? A URL or a command, retried until a deadline.

Without either there is no health step at all; the progress message says so instead of
pretending. The URL is asked through the ``HealthProbe`` port (``bot/probes/health.py``), the
command on the host through its connection.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from core.clock import Clock
from core.deploy.transport import Connection, HostError

_REQUEST_TIMEOUT = 5.0
_COMMAND_TIMEOUT = 30.0


class ProbeError(Exception):
    """The URL did not answer at all; the message names the kind of failure, never a secret."""


class HealthProbe(Protocol):
    def __call__(self, url: str, *, timeout: float) -> int:
        """The HTTP status a GET of ``url`` answers; raises ``ProbeError`` when none comes."""
        ...


@dataclass(frozen=True)
class HealthCheck:
    url: str | None
    command: str | None
    timeout: timedelta
    interval: float = 0.5

    @property
    def configured(self) -> bool:
        return bool(self.url or self.command)


def wait_healthy(
    check: HealthCheck,
    connection: Connection,
    *,
    probe: HealthProbe,
    cwd: str,
    clock: Clock,
    sleep: Callable[[float], None],
) -> str | None:
    """``None`` once healthy; else the last reason it was not, when the deadline passes."""
    deadline = clock.now() + check.timeout
    while True:
        left = (deadline - clock.now()).total_seconds()
        reason = _probe(check, connection, probe=probe, cwd=cwd, budget=max(left, 0.5))
        if reason is None:
            return None
        if clock.now() + timedelta(seconds=check.interval) >= deadline:
            return f"unhealthy after {int(check.timeout.total_seconds())} s: {reason}"
        sleep(check.interval)


def _probe(
    check: HealthCheck, connection: Connection, *, probe: HealthProbe, cwd: str, budget: float
) -> str | None:
    if check.url:
        try:
            status = probe(check.url, timeout=min(_REQUEST_TIMEOUT, budget))
        except ProbeError as error:
            return f"{check.url}: {error}"
        return None if healthy(status) else f"{check.url} answered {status}"
    if check.command:
        try:
            done = connection.run(check.command, cwd=cwd, timeout=min(_COMMAND_TIMEOUT, budget))
        except HostError as error:
            return str(error)
        return None if done.ok else f"health command exited {done.status}: {done.output[-200:]}"
    return None


def healthy(status: int) -> bool:
    """What HTTP clients call an error is unhealthy: a 4xx or 5xx answer, any other is fine."""
    return not 400 <= status < 600
