"""A door's requests go to the thread pool a few at a time; the rest wait on the event loop.

Twenty slash commands at once in twenty threads do not end sooner on two cores than three at a
time: the threads take turns at the GIL and, on SQLite, at its one writer — and the thread that
holds the writer waits for its turn at the GIL while the others run, so every unit of work
stretches by everyone else's turns. Three at a time keeps the writer's holder running; the
others wait in the order they came, at no cost. ``bench/slash_ack.py``, 20 concurrent
``/line status`` on SQLite: p99 +32–35 ms over ``/healthz`` with a thread each, +8 ms or less
with three (bench/README.md, slash_ack).
"""

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import anyio
import anyio.to_thread

THREADS = 3

P = ParamSpec("P")
T = TypeVar("T")


class Admission:
    """At most ``threads`` of one door's requests in the thread pool at once, in arrival order."""

    def __init__(self, threads: int = THREADS) -> None:
        self._limiter = anyio.CapacityLimiter(threads)

    async def run(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await anyio.to_thread.run_sync(
            functools.partial(work, *args, **kwargs), limiter=self._limiter
        )
