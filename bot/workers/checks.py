"""The built-in checks' tick: claim what is due, read it outside any transaction, judge, page."""

import logging
from concurrent.futures import ThreadPoolExecutor

from bot.andon import Andon
from bot.probes import metrics
from bot.workers.deploys import Hosts
from core.alerts.event import AlertEvent
from core.checks import judge, readings
from core.checks.readings import CheckError, Reading
from core.config.alerts import Check
from core.deploy.transport import Transport

log = logging.getLogger(__name__)

READERS = 8  # checks read at once; each waits at most ``timeout`` on its endpoint or hosts


class Checker:
    """Runs the ``[[checks]]`` of andon.toml; the scheduler calls ``tick`` every few seconds."""

    def __init__(self, andon: Andon, *, readers: int = READERS, timeout: float = 10) -> None:
        self.andon = andon
        self._readers = readers
        self._timeout = timeout
        self._hosts: Hosts | None = None  # only when there is no deployer to share SSH with

    def tick(self) -> int:
        """How many checks ran; a failure is logged, never raised into the scheduler."""
        try:
            return self._tick()
        except Exception:
            log.exception("the checks tick failed")
            return 0

    def close(self) -> None:
        if self._hosts is not None:
            self._hosts.close()

    def _tick(self) -> int:
        checks = [check for check in self.andon.config.checks if check.polled]
        if not checks:
            return 0
        with self.andon.database.writing() as session:
            claimed = judge.due(session, checks=checks, clock=self.andon.clock)
        if not claimed:
            return 0
        with ThreadPoolExecutor(max_workers=min(len(claimed), self._readers)) as pool:
            seen = list(pool.map(self._read, claimed))
        events = [
            event
            for check, reading in zip(claimed, seen, strict=True)
            if (event := self._judge(check, reading)) is not None
        ]
        if events:
            self._send(events)
        return len(claimed)

    def _read(self, check: Check) -> Reading | CheckError:
        try:
            return readings.read(
                check,
                metrics=metrics.get,
                transport_for=self._transport_for,
                environments=self.andon.config.environments,
                timeout=self._timeout,
            )
        except CheckError as error:
            return error
        except Exception:
            # Andon's own fault still leaves the metric unseen: it counts as out of bounds.
            log.exception("check %s failed unexpectedly", check.name)
            return CheckError("Andon failed while reading it; its log says why")

    def _judge(self, check: Check, reading: Reading | CheckError) -> AlertEvent | None:
        try:
            with self.andon.database.writing() as session:
                return judge.judge(session, check=check, reading=reading, clock=self.andon.clock)
        except Exception:
            log.exception("could not record the reading of check %s", check.name)
            return None

    def _send(self, events: list[AlertEvent]) -> None:
        try:
            self.andon.record_alerts(events, source=judge.SOURCE)
        except Exception:
            log.exception(
                "could not record %d check alert(s); the next run sends them", len(events)
            )
            with self.andon.database.writing() as session:
                judge.retract(session, events=events)

    def _transport_for(self, environment: str) -> Transport:
        """The deployer's transports, so checks reuse its warm SSH connections."""
        if self.andon.deployer is not None:
            return self.andon.deployer.hosts(environment)
        if self._hosts is None:
            self._hosts = Hosts(self.andon.config.environments)
        return self._hosts(environment)
