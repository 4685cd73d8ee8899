"""SQLite's one writer, as this process's threads take it: one at a time (the same thread again
inside its own turn), and a short urgent write — the courier marking a page's DM claimed or sent,
which a person on call is waiting for — before the threads already waiting.

In an alert storm a dozen webhook deliveries wait for the writer at any moment; a courier taking
its turn behind them waited longer for its two bookkeeping writes than for Slack itself.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Writers:
    """A re-entrant lock whose urgent takers go first."""

    def __init__(self) -> None:
        self._turn = threading.Lock()
        # One waiter is woken at each release, an urgent one first: waking them all (a single
        # condition's ``notify_all``) made twenty concurrent slash commands race for the writer
        # at every release, tripling their p99 (bench/README.md, slash_ack).
        self._urgent_turn = threading.Condition(self._turn)
        self._other_turn = threading.Condition(self._turn)
        self._owner: int | None = None
        self._depth = 0
        self._urgent = 0  # urgent takers waiting
        self.waiting = 0  # every taker waiting

    @contextmanager
    def held(self, *, urgent: bool = False) -> Iterator[None]:
        """The writer, for the block; ``urgent`` waits only for the thread holding it now."""
        me = threading.get_ident()
        with self._turn:
            if self._owner == me:
                self._depth += 1
            else:
                self._wait(urgent=urgent)
                self._owner, self._depth = me, 1
        try:
            yield
        finally:
            with self._turn:
                self._depth -= 1
                if self._depth == 0:
                    self._owner = None
                    (self._urgent_turn if self._urgent else self._other_turn).notify()

    def _wait(self, *, urgent: bool) -> None:
        self._urgent += urgent
        self.waiting += 1
        try:
            turn = self._urgent_turn if urgent else self._other_turn
            while self._owner is not None or (not urgent and self._urgent):
                turn.wait()
        finally:
            self._urgent -= urgent
            self.waiting -= 1
