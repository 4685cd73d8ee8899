"""Waiting for what another thread or process does: a condition asked again until it holds.

A test waits on what it expects — a deploy ended, a message delivered, a server answering — with a
timeout, never for a fixed time; when the time is up it fails saying what it was waiting for.
"""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    condition: Callable[[], T],
    *,
    what: str | Callable[[], str],
    timeout: float = 10.0,
    every: float = 0.05,
) -> T:
    """What ``condition`` returns once it is truthy, asked every ``every`` seconds: a fixed sleep
    is too short on a busy machine and too long on an idle one. After ``timeout`` seconds the test
    fails with ``what`` it was waiting for (a callable: worded then, with what it last saw)."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() >= deadline:
            awaited = what() if callable(what) else what
            raise AssertionError(f"not within {timeout:g} s: {awaited}")
        time.sleep(every)
