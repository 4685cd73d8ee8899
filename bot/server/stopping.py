"""How ``andon serve`` stops: on SIGTERM (what systemd, Docker and Kubernetes send), SIGINT
(Ctrl-C) or ``quit`` at the terminal alike, within ``[http] stop_grace``.

No new work is taken (the HTTP server stops accepting and finishes what it has, the scheduler,
the CI runner, forge statuses and checks stop); running deploys end at their next safe point;
the outbox gets a last delivery; SSH pools and the database are closed; "stopped" is logged and
the process exits 0. A part that overruns its share of the grace is left as a kill would leave
it — durable state makes that safe — and if the whole stop ever overruns, a watchdog ends the
process, exit 1, saying what was still running.

uvicorn catches both signals while it serves, and re-raises the one it caught once it has shut
down — which, for SIGTERM, would kill the process before any cleanup. The handlers installed
here receive that re-raise instead.
"""

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from types import FrameType

import uvicorn

log = logging.getLogger("andon")

SIGNALS = (signal.SIGTERM, signal.SIGINT)
DRAIN_SHARE = 0.25  # of the grace, for HTTP requests in flight to finish
LAST_DELIVERY = 5.0  # seconds at most for the outbox's last delivery
CLOSING = 1.0  # seconds kept for closing pools and the database


class Stop:
    """The stop's clock, begun by the first signal (or ``quit``), and its watchdog."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.server: uvicorn.Server | None = None
        self._began: float | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._step = "the HTTP server"

    def begin(self, why: str) -> None:
        """Start the clock once; later calls (the signal re-raised, a second Ctrl-C) change
        nothing."""
        with self._lock:
            if self._began is not None:
                return
            self._began = time.monotonic()
        if self.server is not None:
            self.server.should_exit = True
        log.info("stopping (%s): no new work; %g s to finish what is in flight", why, self.grace)
        threading.Thread(target=self._watch, name="andon-stop-watch", daemon=True).start()

    def attach(self, server: uvicorn.Server) -> None:
        """The HTTP server drains its requests for a share of the grace at most, and a signal
        it catches while serving (uvicorn's handlers replace ours then) starts the clock."""
        self.server = server
        drain = max(int(self.grace * DRAIN_SHARE), 1)
        config = server.config
        if config.timeout_graceful_shutdown is None or config.timeout_graceful_shutdown > drain:
            config.timeout_graceful_shutdown = drain
        caught = server.handle_exit  # what uvicorn's capture_signals registers for each signal

        def handle_exit(sig: int, frame: FrameType | None) -> None:
            caught(sig, frame)  # first: to uvicorn, a SIGINT while already exiting forces it
            self.begin(signal.Signals(sig).name)

        server.handle_exit = handle_exit  # type: ignore[method-assign]
        if self._began is not None:
            server.should_exit = True

    def left(self) -> float:
        began = self._began if self._began is not None else time.monotonic()
        return max(began + self.grace - time.monotonic(), 0.0)

    def step(self, what: str, work: Callable[[], object], *, within: float | None = None) -> bool:
        """One part of the stop, given ``within`` seconds at most (never more than is left)."""
        return self.together({what: work}, within=within)

    def together(
        self, parts: Mapping[str, Callable[[], object]], *, within: float | None = None
    ) -> bool:
        """Parts that do not wait on each other, run at once; False if one overran."""
        budget = self.left() if within is None else max(min(within, self.left()), 0.0)
        deadline = time.monotonic() + budget
        self._step = ", ".join(parts)
        running = [(what, _started(what, work)) for what, work in parts.items()]
        late = [
            what for what, done in running if not done.wait(max(deadline - time.monotonic(), 0))
        ]
        for what in late:
            log.warning("stopping: %s did not finish within %.1f s; left as it is", what, budget)
        return not late

    def finished(self) -> None:
        log.info("stopped")
        self._stopped.set()

    def _watch(self) -> None:
        """Ends the process at the grace's end, whatever still holds it."""
        if self._stopped.wait(self.grace):
            time.sleep(self.left() + CLOSING)  # the interpreter's exit is long over by then,
            _exit(0)  # unless a library's thread holds it: stopped is stopped
            return
        log.error(
            "stopping: stop_grace (%g s) is over while %s was still running; exiting now — "
            "what was in flight is left for the next start",
            self.grace,
            self._step,
        )
        _exit(1)


def install(stop: Stop) -> None:
    """SIGTERM and SIGINT stop the server the same way — before it serves, while it serves
    (through uvicorn's own handlers, see ``Stop.attach``) and after: the signal uvicorn
    re-raises lands here, not in a default handler that would end the process uncleaned."""
    if threading.current_thread() is not threading.main_thread():
        return

    def stopping(sig: int, _frame: FrameType | None) -> None:
        stop.begin(signal.Signals(sig).name)

    for sig in SIGNALS:
        signal.signal(sig, stopping)


def _started(what: str, work: Callable[[], object]) -> threading.Event:
    done = threading.Event()

    def run() -> None:
        try:
            work()
        except Exception:
            log.exception("stopping: %s failed", what)
        finally:
            done.set()

    threading.Thread(target=run, name=f"andon-stop-{what}", daemon=True).start()
    return done


def _until(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.0)


def _exit(status: int) -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
