"""Is the host healthy after the flip? A URL or a command, retried until a deadline.

Without either there is no health step at all; the progress message says so instead of
pretending.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import requests

from core.clock import Clock
from core.deploy.transport import Connection, HostError

_REQUEST_TIMEOUT = 5.0
_COMMAND_TIMEOUT = 30.0


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
    cwd: str,
    clock: Clock,
    sleep: Callable[[float], None],
) -> str | None:
    """``None`` once healthy; else the last reason it was not, when the deadline passes."""
    deadline = clock.now() + check.timeout
    while True:
        left = (deadline - clock.now()).total_seconds()
        reason = _probe(check, connection, cwd=cwd, budget=max(left, 0.5))
        if reason is None:
            return None
        if clock.now() + timedelta(seconds=check.interval) >= deadline:
            return f"unhealthy after {int(check.timeout.total_seconds())} s: {reason}"
        sleep(check.interval)


def _probe(check: HealthCheck, connection: Connection, *, cwd: str, budget: float) -> str | None:
    if check.url:
        try:
            answer = requests.get(check.url, timeout=min(_REQUEST_TIMEOUT, budget))
        except requests.RequestException as error:
            return f"{check.url}: {type(error).__name__}"
        return None if answer.ok else f"{check.url} answered {answer.status_code}"
    if check.command:
        try:
            done = connection.run(check.command, cwd=cwd, timeout=min(_COMMAND_TIMEOUT, budget))
        except HostError as error:
            return str(error)
        return None if done.ok else f"health command exited {done.status}: {done.output[-200:]}"
    return None
