"""Flag ramps under watch run in the background of the process that holds them.

``/flag on|ramp`` where the environment watches metrics records the ramp and answers at once;
this claims it — at once when the command ran here, else on the scheduler's tick, which is how
a ramp asked with ``andon flag`` reaches the running ``andon serve`` — reads the baseline, makes
the ramp and watches it for ``watch_for``, each in its own thread. After a crash the tick finds
the watches whose process is gone (``core/flags/watch.py`` says what becomes of them). When
Andon stops, a watch ends at its next look and the next start takes it up again.
"""

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from bot.bus.unit import Units
from bot.workers import holders
from core.checks.metric_reader import MetricReader
from core.clock import Clock
from core.config.file import AndonConfig
from core.config.hosts import Environment
from core.deploy.transport import Transport
from core.deploy.watch import LOOKS_PER_BATCH
from core.flags import watch as flag_watch
from core.flags import watch_end
from core.flags.watch_end import Ending
from core.watch.metrics import Metrics, judged, named, restored, stored
from core.watch.watching import watch
from storage.tables import FlagWatch

log = logging.getLogger(__name__)


class StoppedError(Exception):
    """Andon is stopping: the watch is left to the next start."""


class FlagWatcher:
    """Claims the ramps nobody watches and watches each in a thread."""

    def __init__(
        self,
        *,
        config: AndonConfig,
        clock: Clock,
        units: Units,
        reader: MetricReader,
        transport_for: Callable[[str], Transport],
    ) -> None:
        self.config, self.clock, self.units = config, clock, units
        self._reader, self._transport_for = reader, transport_for
        self.holder = holders.token()
        self._started, self._stopping = threading.Event(), threading.Event()
        self._ticking = threading.Lock()
        self._threads: dict[int, threading.Thread] = {}

    def start(self) -> None:
        """Watch from now on (``andon serve``; a CLI command leaves its ramps to the server's
        tick), beginning with the ramps a stop or a crash left mid-watch."""
        self._started.set()
        self.tick()

    def nudge(self) -> None:
        """A ramp was just asked here: claim it now, beside the caller."""
        threading.Thread(target=self.tick, name="andon-flag-watch-nudge", daemon=True).start()

    def tick(self) -> None:
        """The scheduler's call: watches nobody holds are claimed, or said cut short."""
        if not self._started.is_set() or self._stopping.is_set():
            return
        if not self._ticking.acquire(blocking=False):
            return
        try:
            for watch_id in self._claimed():
                thread = threading.Thread(
                    target=self._run, args=(watch_id,), name=f"andon-flag-watch-{watch_id}"
                )
                thread.daemon = True
                self._threads[watch_id] = thread
                thread.start()
        except Exception:
            log.exception("the flag watch tick failed")
        finally:
            self._ticking.release()

    def stop(self) -> None:
        """Andon is stopping: each watch ends at its next look, held by a process that is gone."""
        self._stopping.set()

    def wait(self, timeout: float | None = None) -> None:
        for thread in list(self._threads.values()):
            thread.join(timeout)

    def _claimed(self) -> list[int]:
        is_dead = partial(holders.is_dead, me=self.holder)
        with self.units() as (session, notifier):
            run, cut = flag_watch.due(session, clock=self.clock, is_dead=is_dead)
            ending = Ending(session, notifier, self.clock, self.config)
            for watch_id in cut:
                watch_end.cut_short(ending, watch_id=watch_id)
            return [
                watch_id
                for watch_id in run
                if watch_id not in self._threads
                and flag_watch.claim(
                    session, watch_id=watch_id, holder=self.holder, is_dead=is_dead
                )
            ]

    def _run(self, watch_id: int) -> None:
        try:
            self._watch(watch_id)
        except StoppedError:
            log.warning("flag watch #%s stops as Andon stops: the next start resumes it", watch_id)
        except Exception:
            log.exception("flag watch #%s broke", watch_id)
        finally:
            self._threads.pop(watch_id, None)

    def _watch(self, watch_id: int) -> None:
        with self.units() as (session, _):
            row = session.get(FlagWatch, watch_id)
            assert row is not None
            state, environment, kept, until = row.state, row.environment, row.baseline, row.until
        env = self.config.environments[environment]
        metrics = self._metrics(env)
        if state == flag_watch.WatchState.PENDING:
            baseline = metrics.look()
            unseen = [f"{name}: {s.error}" for name, s in baseline.items() if s.error is not None]
            with self.units() as (session, notifier):
                ending = Ending(session, notifier, self.clock, self.config)
                if unseen:
                    why = f"the baseline could not be read ({'; '.join(unseen)})"
                    watch_end.refuse(ending, watch_id=watch_id, holder=self.holder, why=why)
                    return
                kept = stored(baseline)
                if not watch_end.ramp(ending, watch_id=watch_id, holder=self.holder, baseline=kept):
                    return
            until = self.clock.now() + env.watch_for
        assert kept is not None and until is not None
        verdict = watch(
            read=metrics.look,
            baseline=restored(kept),
            verdict=partial(judged, metrics.checks),
            lasting=max(until - self.clock.now(), timedelta()),
            every=min(min(c.every for c in metrics.checks), env.watch_for / LOOKS_PER_BATCH),
            clock=self.clock,
            nap=self._nap,
        )
        metric = named(metrics.checks, verdict) if verdict is not None else None
        with self.units() as (session, notifier):
            ending = Ending(session, notifier, self.clock, self.config)
            watch_end.ended(
                ending, watch_id=watch_id, holder=self.holder, verdict=verdict, metric=metric
            )

    def _metrics(self, env: Environment) -> Metrics:
        by_name = {check.name: check for check in self.config.checks}
        return Metrics(
            checks=[by_name[name] for name in env.watch],
            hosts=env.hosts,
            reader=self._reader,
            transport_for=self._transport_for,
            environments=self.config.environments,
        )

    def _nap(self, seconds: float) -> None:
        if self._stopping.wait(seconds):
            raise StoppedError()
