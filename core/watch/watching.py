"""Watching a change: look again and again for a while, and say the first verdict against it.

What is watched, what counts as normal and what counts as harm are the caller's: a deploy
watches its hosts' metrics after each batch (``core/deploy/watch.py``), and anything else that
changes the running system — a flag ramped up — can watch the same way. The wait between looks
is the caller's ``nap``, which a stop cuts short; time is the caller's clock.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from core.clock import Clock

Look = TypeVar("Look")
Baseline = TypeVar("Baseline")


def watch(
    *,
    read: Callable[[], Look],
    baseline: Baseline,
    verdict: Callable[[Look, Baseline], str | None],
    lasting: timedelta,
    every: timedelta,
    clock: Clock,
    nap: Callable[[float], None],
    seen: Callable[[Look], None] = lambda look: None,
) -> str | None:
    """Read now and every ``every`` until ``lasting`` has passed: the first verdict against the
    change (a sentence naming what got worse), or ``None`` when every look was fine."""
    until = clock.now() + lasting
    while True:
        look = read()
        seen(look)
        found = verdict(look, baseline)
        if found is not None:
            return found
        left = until - clock.now()
        if left <= timedelta():
            return None
        nap(min(every, left).total_seconds())
