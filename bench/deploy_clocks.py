"""Clocks around the units of work and the SSH calls of a deploy: where ``deploy.py``'s warm
rollback and delta spend their time. Patched in by the benchmark, not Andon's behaviour.
"""

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import common  # noqa: F401  (importing it puts the project root on sys.path)

from core.config.hosts import Host
from core.deploy.transport import Connection, Transport


class Clocks:
    """Seconds spent, by what, summed over every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.spans: dict[str, list[float]] = defaultdict(list)

    def add(self, name: str, seconds: float) -> None:
        with self._lock:
            self.spans[name].append(seconds)


POOLED_CONNECT = "ssh connect (pooled: an SFTP round trip to check it unless it answered < 1 s ago)"


class ClockedTransport:
    def __init__(self, inner: Transport, clocks: Clocks) -> None:
        self._inner, self._clocks = inner, clocks

    def connect(self, host: Host) -> Connection:
        started = time.perf_counter()
        connection = self._inner.connect(host)
        self._clocks.add(POOLED_CONNECT, since(started))
        return ClockedConnection(connection, self._clocks)  # type: ignore[return-value]

    def close(self) -> None:
        self._inner.close()


class ClockedConnection:
    def __init__(self, inner: Connection, clocks: Clocks) -> None:
        self._inner, self._clocks = inner, clocks
        self.address = inner.address

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)
        if not callable(method):
            return method

        def clocked(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self._clocks.add(f"ssh {name}", since(started))

        return clocked


def since(started: float) -> float:
    return time.perf_counter() - started


UNIT_WAIT = "unit of work: waiting for the SQLite writer lock"
UNIT_WORK = "unit of work: its statements and the progress message"
UNIT_COMMIT = "unit of work: flush and COMMIT"
ANNOUNCE = (
    "… of which the progress message: `Progress.show` (the deploy's view from the host rows it "
    "keeps, rendered, the outbox's update queued)"
)


def clocked_units(
    units: Callable[[], AbstractContextManager[Any]], clocks: Clocks
) -> Callable[[], AbstractContextManager[Any]]:
    @contextmanager
    def wrapped() -> Iterator[Any]:
        asked = time.perf_counter()
        with units() as pair:
            entered = time.perf_counter()
            yield pair
            worked = time.perf_counter()
        clocks.add(UNIT_WAIT, entered - asked)
        clocks.add(UNIT_WORK, worked - entered)
        clocks.add(UNIT_COMMIT, since(worked))

    return wrapped
