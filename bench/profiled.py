"""cProfile over an asyncio server's requests: the event loop's thread and every call it hands
to the thread pool (``anyio.to_thread.run_sync``, which Starlette's ``run_in_threadpool`` and
FastAPI's sync endpoints use), merged into one ``pstats.Stats``.

cProfile follows only the thread that enabled it; the pool's threads outlive any one profiled
phase, so each call the pool runs is wrapped in its thread's own profiler while a ``Profiled``
block is open.
"""

import cProfile
import io
import itertools
import pstats
import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

import anyio.to_thread

_mine = threading.local()
_blocks = itertools.count()
_open: list["Profiled"] = []
_run_sync = anyio.to_thread.run_sync


class Profiled:
    """Profiles the current thread and every pool call made while the block is open."""

    def __init__(self) -> None:
        self._key = next(_blocks)  # not id(self): a later block may be given the same id
        self._profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def __enter__(self) -> "Profiled":
        _open.append(self)
        self._main = self.thread_profile()
        self._main.enable()
        return self

    def __exit__(self, *_: object) -> None:
        self._main.disable()
        _open.remove(self)

    def thread_profile(self) -> cProfile.Profile:
        """This thread's profiler for this block, made on its first call."""
        profiles: dict[int, cProfile.Profile] = getattr(_mine, "profiles", {})
        _mine.profiles = profiles
        if self._key not in profiles:
            profiles[self._key] = cProfile.Profile(time.thread_time)  # CPU, not waits
            with self._lock:
                self._profiles.append(profiles[self._key])
        return profiles[self._key]

    def stats(self) -> pstats.Stats:
        stats = pstats.Stats(self._profiles[0])
        for other in self._profiles[1:]:
            if other.getstats():
                stats.add(other)
        return stats


def profiled(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func``, profiled in the thread that runs it while a ``Profiled`` block is open."""

    @wraps(func)
    def run(*args: Any) -> Any:
        if not _open:
            return func(*args)
        profile = _open[-1].thread_profile()
        profile.enable()
        try:
            return func(*args)
        finally:
            profile.disable()

    return run


async def _run_sync_profiled(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await _run_sync(profiled(func), *args, **kwargs)


anyio.to_thread.run_sync = _run_sync_profiled  # type: ignore[assignment]


def top(stats: pstats.Stats, count: int) -> str:
    """The ``count`` entries with the most own time, then the most cumulative time."""
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.strip_dirs().sort_stats("tottime").print_stats(count)
    stats.sort_stats("cumulative").print_stats(count)
    return out.getvalue()
