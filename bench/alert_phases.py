"""An open-loop phase of ``alerts.py``: each request leaves at its scheduled time from whichever
sender is free, whatever the answers before it did; when it was due, left and was answered.
"""

import itertools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from clients import Sample, answer_json
from common import TIMEOUT_S, Clock, percentile, spent
from storm_runs import BEARER


@dataclass
class Shot:
    """One request: when it was due, left and was answered (``perf_counter`` s), and what came."""

    due: float
    left: float
    answered: float
    status: int
    ok: bool
    answer: dict[str, Any] = field(default_factory=dict)


@dataclass
class Phase:
    database: str
    name: str
    alerts: int
    planned: int
    start: float = math.nan  # perf_counter of the schedule's zero
    shots: list[Shot | None] = field(default_factory=list)  # by request number
    cpu_s: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0

    def done(self) -> list[Shot]:
        return [s for s in self.shots if s is not None]

    def sample(self) -> Sample:
        done = self.done()
        sample = Sample(self.database, self.name, 0, wall_s=self.wall_s, cpu_s=self.cpu_s)
        for shot in done:
            if shot.status:
                sample.add(shot.answered - shot.left, shot.status, shot.ok)
            else:
                sample.failed += 1  # no answer at all
        return sample

    def summary(self, window_s: float) -> dict[str, Any]:
        done = self.done()
        lags = sorted(s.left - s.due for s in done)
        last = max((s.left for s in done), default=math.nan) - self.start
        s = self.sample().summary()
        return {
            **s,
            "alerts": self.alerts,
            "start_lag_p99_ms": round(percentile(lags, 99) * 1000, 2),
            "start_lag_max_ms": round(lags[-1] * 1000, 2) if lags else math.nan,
            "last_left_s": round(last, 3),
            "sent_in_window": len(done) == self.planned and last < window_s,
            "sent_per_s": round(len(done) / last, 1) if last > 0 else math.nan,
        }


Send = Callable[[requests.Session, int], requests.Response]
Judge = Callable[[int, requests.Response], tuple[bool, dict[str, Any]]]


def fire(
    phase: Phase,
    schedule: list[float],
    send: Send,
    judge: Judge,
    senders: int,
    url: str,
    cpu: Clock,
) -> Phase:
    """Request ``n`` leaves at ``start + schedule[n]``, sent by whichever sender is free."""
    phase.shots = [None] * len(schedule)
    numbers = itertools.count()  # next() of a count is atomic under the GIL
    barrier = threading.Barrier(
        senders + 1, action=lambda: setattr(phase, "start", time.perf_counter() + 0.02)
    )

    def sender() -> None:
        with requests.Session() as session:
            session.get(url + "/healthz", timeout=TIMEOUT_S)  # the connection, opened untimed
            barrier.wait()
            while (n := next(numbers)) < len(schedule):
                phase.shots[n] = shoot(session, n, phase.start + schedule[n], send, judge)

    threads = [
        threading.Thread(target=sender, name=f"sender-{i}", daemon=True) for i in range(senders)
    ]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=60)
    cpu_before = cpu()
    for thread in threads:
        thread.join()
    phase.wall_s = time.perf_counter() - phase.start
    phase.cpu_s = spent(cpu_before, cpu())
    return phase


def shoot(session: requests.Session, n: int, due: float, send: Send, judge: Judge) -> Shot:
    """Request ``n`` at its time (or late): when it left and was answered, and what came."""
    wait = due - time.perf_counter()
    if wait > 0:
        time.sleep(wait)
    left = time.perf_counter()
    try:
        answer = send(session, n)
    except requests.RequestException as failed:
        return Shot(due, left, time.perf_counter(), 0, False, {"error": f"{failed}"})
    answered = time.perf_counter()
    ok, got = judge(n, answer)
    return Shot(due, left, answered, answer.status_code, ok, got)


def alert_sender(url: str, bodies: list[bytes]) -> Send:
    def send(session: requests.Session, n: int) -> requests.Response:
        return session.post(url, data=bodies[n], headers=BEARER, timeout=TIMEOUT_S)

    return send


def alert_judge(counts: list[int]) -> Judge:
    def judge(n: int, answer: requests.Response) -> tuple[bool, dict[str, Any]]:
        got = answer_json(answer)
        return answer.status_code == 200 and got.get("alerts") == counts[n], got

    return judge


def healthz_sender(url: str) -> Send:
    def send(session: requests.Session, n: int) -> requests.Response:
        return session.get(url + "/healthz", timeout=TIMEOUT_S)

    return send


def healthz_judge(n: int, answer: requests.Response) -> tuple[bool, dict[str, Any]]:
    return answer.status_code == 200, {}
