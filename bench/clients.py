"""The clients that put load on ``andon serve``, and what they measured: one after the other
(``alone``), many at once released by a barrier (``concurrent``), or each at its scheduled time
whatever the answers before it did (``paced``); each request timed with ``time.perf_counter``
and counted in a ``Sample``.

Shared by the benchmarks that time requests (``slash_ack.py``, ``ci_ingest.py``, ``alerts.py``);
kept apart from ``common.py``, which holds what surrounds a run (the machine, PostgreSQL, the
server's log, CPU clocks), so that neither grows past a screenful of concepts.
"""

import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
from common import TIMEOUT_S, Clock, percentile, spent

from tests.harness import AndonServer

# One request: given a client's session and its running number, send it and say whether the
# answer was the right one. Returns (seconds from POST to answer, HTTP status or 0, ok).
Request = Callable[[requests.Session, int], tuple[float, int, bool]]


@dataclass
class Sample:
    """The latencies of one phase, and what went wrong in it."""

    database: str
    request: str
    clients: int
    latencies_s: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    wrong: int = 0  # answered, but not a 200 with the expected body
    failed: int = 0  # no answer at all (timeout, connection refused)
    wall_s: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)  # by process: andon, postgres, client

    def add(self, took: float, status: int, ok: bool) -> None:
        self.latencies_s.append(took)
        self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
        self.wrong += 0 if ok else 1

    def merge(self, other: "Sample") -> None:
        self.latencies_s += other.latencies_s
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        self.wrong += other.wrong
        self.failed += other.failed

    def percentile_ms(self, p: float) -> float:
        """Nearest rank: the smallest latency that ``p`` per cent of the requests did not exceed."""
        return percentile(self.latencies_s, p) * 1000

    def summary(self) -> dict[str, Any]:
        n = len(self.latencies_s)
        return {
            "database": self.database,
            "request": self.request,
            "clients": self.clients,
            "requests": n + self.failed,
            "not_ok": self.wrong + self.failed,
            "statuses": self.statuses,
            "p50_ms": round(self.percentile_ms(50), 2),
            "p99_ms": round(self.percentile_ms(99), 2),
            "max_ms": round(max(self.latencies_s) * 1000, 2) if n else math.nan,
            "requests_per_s": round(n / self.wall_s, 1) if self.wall_s else math.nan,
            "cpu_ms_per_request": {k: round(v * 1000 / n, 2) for k, v in self.cpu_s.items()}
            if n
            else {},
        }


def healthz_request(server: AndonServer) -> Request:
    """The baseline request: the cheapest the same server answers."""

    def send(session: requests.Session, n: int) -> tuple[float, int, bool]:
        started = time.perf_counter()
        answer = session.get(server.url + "/healthz", timeout=TIMEOUT_S)
        took = time.perf_counter() - started
        return took, answer.status_code, answer.status_code == 200

    return send


def answer_json(answer: requests.Response) -> dict[str, Any]:
    """The answer's JSON object, or an empty one: a wrong answer is counted, not raised."""
    try:
        got = answer.json()
    except ValueError:
        return {}
    return got if isinstance(got, dict) else {}


def answer_text(answer: requests.Response) -> str:
    """What a Slack answer says: its JSON's ``text``, or nothing."""
    return str(answer_json(answer).get("text", ""))


def _run_client(
    session: requests.Session, send: Request, count: int, first: int, into: Sample
) -> None:
    for n in range(first, first + count):
        try:
            into.add(*send(session, n))
        except requests.RequestException:
            into.failed += 1


def alone(database: str, name: str, send: Request, count: int, cpu: Clock) -> Sample:
    """``count`` requests one after the other: the latency with nothing else in the way."""
    sample = Sample(database, name, 1)
    with requests.Session() as session:
        cpu_before, started = cpu(), time.perf_counter()
        _run_client(session, send, count, 0, sample)
        sample.wall_s = time.perf_counter() - started
        sample.cpu_s = spent(cpu_before, cpu())
    return sample


def concurrent(
    database: str,
    name: str,
    send: Request,
    clients: int,
    each: int,
    url: str,
    cpu: Clock,
) -> Sample:
    """``clients`` threads, one ``requests.Session`` each, released together by a barrier."""
    barrier = threading.Barrier(clients + 1)
    parts = [Sample(database, name, clients) for _ in range(clients)]

    def client(i: int) -> None:
        with requests.Session() as session:
            session.get(url + "/healthz", timeout=TIMEOUT_S)  # the connection, opened untimed
            barrier.wait()
            _run_client(session, send, each, i * each, parts[i])

    threads = [
        threading.Thread(target=client, args=(i,), name=f"client-{i}", daemon=True)
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=60)
    cpu_before, started = cpu(), time.perf_counter()
    for thread in threads:
        thread.join()
    sample = Sample(database, name, clients, wall_s=time.perf_counter() - started)
    sample.cpu_s = spent(cpu_before, cpu())
    for part in parts:
        sample.merge(part)
    return sample


# --- paced: an open-loop sender -------------------------------------------------------------


@dataclass
class Paced:
    """One paced phase: each request's latency, and how late it left against its schedule."""

    sample: Sample
    rate: float
    planned: int
    lags_s: list[float] = field(default_factory=list)
    first_start: float = math.nan
    last_start: float = math.nan

    def summary(self) -> dict[str, Any]:
        lags = sorted(self.lags_s)
        span = self.last_start - self.first_start
        achieved = (len(lags) - 1) / span if len(lags) > 1 and span > 0 else math.nan
        lag_p99 = percentile(lags, 99) * 1000
        lag_max = lags[-1] * 1000 if lags else math.nan
        return {
            **self.sample.summary(),
            "target_per_s": self.rate,
            "planned": self.planned,
            "achieved_per_s": round(achieved, 2),
            "start_lag_p99_ms": round(lag_p99, 2),
            "start_lag_max_ms": round(lag_max, 2),
            # Held: every request left before the next one's slot was due.
            "pace_held": bool(lags) and lag_max < 1000 / self.rate and len(lags) == self.planned,
        }


@dataclass
class Schedule:
    """Request ``n`` is due at ``start + n / rate``; ``numbers`` hands out the next ``n``."""

    rate: float
    planned: int
    workers: int
    start: float = 0.0
    numbers: Iterator[int] = field(default_factory=itertools.count)  # next() is atomic (GIL)
    lock: threading.Lock = field(default_factory=threading.Lock)
    barrier: threading.Barrier = field(init=False)

    def __post_init__(self) -> None:
        # The schedule begins once every sender has its connection open and waits at the barrier.
        self.barrier = threading.Barrier(self.workers + 1, action=self._begin)

    def _begin(self) -> None:
        self.start = time.perf_counter() + 0.01


def paced(
    database: str,
    name: str,
    send: Request,
    rate: float,
    seconds: float,
    workers: int,
    url: str,
    cpu: Clock,
) -> Paced:
    """Request ``i`` leaves at ``start + i / rate``, taken by whichever sender thread is free."""
    schedule = Schedule(rate, int(rate * seconds), workers)
    result = Paced(Sample(database, name, 1), rate, schedule.planned)
    threads = [
        threading.Thread(
            target=send_on_schedule,
            args=(schedule, send, url, result),
            name=f"sender-{i}",
            daemon=True,
        )
        for i in range(workers)
    ]
    for thread in threads:
        thread.start()
    schedule.barrier.wait(timeout=60)
    cpu_before = cpu()
    for thread in threads:
        thread.join()
    result.sample.wall_s = time.perf_counter() - schedule.start
    result.sample.cpu_s = spent(cpu_before, cpu())
    return result


def send_on_schedule(schedule: Schedule, send: Request, url: str, result: Paced) -> None:
    """One sender thread: the next request due, sent at its time (or late, the lag counted)."""
    part = Sample(result.sample.database, result.sample.request, 1)
    lags, starts = [], []
    with requests.Session() as session:
        session.get(url + "/healthz", timeout=TIMEOUT_S)  # the connection, opened untimed
        schedule.barrier.wait()
        while (n := next(schedule.numbers)) < schedule.planned:
            due = schedule.start + n / schedule.rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            left = time.perf_counter()
            lags.append(left - due)
            starts.append(left)
            try:
                part.add(*send(session, n))
            except requests.RequestException:
                part.failed += 1
    with schedule.lock:
        result.sample.merge(part)
        result.lags_s += lags
        if starts:
            result.first_start = min(result.first_start, starts[0], key=_nan_last)
            result.last_start = max(result.last_start, starts[-1], key=_nan_first)


def _nan_last(x: float) -> float:
    return math.inf if math.isnan(x) else x


def _nan_first(x: float) -> float:
    return -math.inf if math.isnan(x) else x
