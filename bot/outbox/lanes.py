"""The courier's lanes side by side: each lane has at most one sender at a time, so its messages
keep their order, while a page's DM no longer waits behind the channel's posts — or behind a
slow Slack call in another lane. Direct-message lanes are handed a sender first."""

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as all_done

log = logging.getLogger(__name__)

SENDERS = 4  # lanes sent at once: a person's DMs, the line channel, a few more people


class Lanes:
    """Hands each idle lane to a sender that delivers it until it is empty or stuck.

    ``drain(lane)`` sends the lane's due messages in order and says whether it emptied it; then
    ``emptied`` is called, so a message queued while the lane was busy is not left for the next
    poll."""

    def __init__(
        self,
        drain: Callable[[str], bool],
        *,
        emptied: Callable[[], None],
        senders: int = SENDERS,
    ) -> None:
        self._drain = drain
        self._emptied = emptied
        self._senders = senders
        self._busy: set[str] = set()
        self._running: set[Future[None]] = set()
        self._lock = threading.RLock()  # a future already done calls back at once, inside
        self._pool: ThreadPoolExecutor | None = None

    def send(self, lanes: Sequence[str]) -> None:
        """Each of ``lanes`` (in the order given) that has no sender gets one."""
        for lane in lanes:
            with self._lock:
                if lane in self._busy:
                    continue
                self._busy.add(lane)
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self._senders, "andon-courier-lane")
                future = self._pool.submit(self._sent, lane)
                self._running.add(future)
                future.add_done_callback(self._done)

    def stop(self, *, timeout: float) -> None:
        """Once every sender has ended (or ``timeout``), their threads go: the caller has told
        ``drain`` to stop after the message in hand."""
        with self._lock:
            running, pool, self._pool = list(self._running), self._pool, None
        all_done(running, timeout=timeout)
        if pool is not None:
            pool.shutdown(wait=False)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._running.discard(future)

    def _sent(self, lane: str) -> None:
        empty = False
        try:
            empty = self._drain(lane)
        except Exception:
            log.exception("the courier failed on lane %s; it will try again", lane)
        finally:
            with self._lock:
                self._busy.discard(lane)
        if empty:
            self._emptied()
