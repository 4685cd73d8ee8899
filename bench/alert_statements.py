"""What one page-opening delivery asks of the database, and how much of it under the line's lock.

In a storm each alert group's first POST opens a page that stops the line (the first opens the
stoppage, the others join it). On PostgreSQL the line's row lock (``SELECT … FOR UPDATE``) is
held until the commit, so those deliveries pass through it one after another: its length is
what the tenth group's first POST waits for. This script runs the real app in this process
(``tests/inprocess.py``: the FastAPI app, bolt, the courier) on a throwaway PostgreSQL (or
SQLite), with the fake Slack, POSTs ``--groups`` Alertmanager groups of 5 alerts one after the
other over loopback, and counts, for each delivery after the first two, the statements its
request thread ran, those from the line's lock on and the milliseconds from the lock to its last
statement (PostgreSQL; SQLite's one writer holds the whole transaction). Then CPU per delivery
of ``Andon.record_alerts`` called in this thread (the courier idle), over ``--groups`` more
groups. Medians are printed, as JSON.

    .venv/bin/python bench/alert_statements.py [--database postgresql|sqlite] [--groups 9]
"""

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from alert_storm import fingerprints, group_body
from common import postgres_cluster, progress
from sqlalchemy import event
from storm_runs import BEARER, CONFIG, FIXTURE

from core.alerts.event import AlertEvent, AlertStatus
from core.clock import ManualClock
from tests.fakes.slack import FakeSlack
from tests.inprocess import InProcessAndon

say = progress("alert_statements")
LINE_LOCK = "FROM line WHERE line.id = %(id_1)s::INTEGER FOR UPDATE"


@dataclass
class Delivery:
    statements: int
    under_lock: int
    lock_to_last_ms: float
    answered_ms: float


@dataclass
class Statement:
    started: float
    ended: float
    sql: str
    thread: int


def traced(andon: InProcessAndon) -> list[Statement]:
    """Every statement the app's writer engine runs, appended as it ends."""
    log: list[Statement] = []
    began: dict[int, float] = {}
    engine = andon.andon.database.writer

    @event.listens_for(engine, "before_cursor_execute")
    def before(*_: Any) -> None:
        began[threading.get_ident()] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def after(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        me = threading.get_ident()
        log.append(Statement(began.pop(me, 0.0), time.perf_counter(), statement, me))

    return log


def delivered(andon: InProcessAndon, log: list[Statement], body: bytes) -> Delivery:
    """One POST; its request thread is the one that ran the most statements meanwhile (the
    courier and the scheduler run a few of their own)."""
    log.clear()
    start = time.perf_counter()
    hook = andon.url + "/hooks/alerts/alertmanager"
    answer = requests.post(hook, data=body, headers=BEARER, timeout=30)
    answered = time.perf_counter() - start
    assert answer.status_code == 200 and answer.json()["paged"] == 1, answer.text
    mine = Counter(s.thread for s in log).most_common(1)[0][0]
    own = [s for s in log if s.thread == mine]
    locked = next((i for i, s in enumerate(own) if LINE_LOCK in " ".join(s.sql.split())), None)
    under = own[locked:] if locked is not None else []
    span = (under[-1].ended - under[0].started) * 1000 if under else 0.0
    andon.deliver()
    return Delivery(len(own), len(under), span, answered * 1000)


def group(n: int) -> list[AlertEvent]:
    """Alert group ``n`` as the webhook parses it: 5 instances of one alert name."""
    return [
        AlertEvent(
            source="alertmanager",
            key=f"cpu-{n}-{k}",
            name=f"Storm{n:03d}",
            status=AlertStatus.FIRING,
            summary=f"node-{k} of group {n} is down",
            severity="critical",
            group=f"cpu-group-{n}",
            labels={"alertname": f"Storm{n:03d}", "instance": f"node-{k}:9100"},
        )
        for k in range(5)
    ]


def cpu_per_delivery(andon: InProcessAndon, groups: int) -> float:
    start = time.thread_time()
    for n in range(groups):
        andon.andon.record_alerts(group(n), source="alertmanager")
    return (time.thread_time() - start) * 1000 / groups


@contextmanager
def andon_on(database: str, scratch: Path) -> Iterator[InProcessAndon]:
    with _database_url(database) as url, FakeSlack() as slack:
        clock = ManualClock(datetime.now(UTC))
        app = InProcessAndon(scratch, config=CONFIG, slack=slack, clock=clock, database_url=url)
        app.start()
        try:
            yield app
        finally:
            app.stop()


@contextmanager
def _database_url(database: str) -> Iterator[str | None]:
    """A throwaway PostgreSQL database's URL; None for SQLite (the app's file in the scratch)."""
    if database == "sqlite":
        yield None
        return
    with postgres_cluster(say) as (cluster, why):
        if cluster is None:
            raise SystemExit(f"alert_statements: {why}")
        yield cluster.create_database("andon_bench")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--groups", type=int, default=9)
    args = parser.parse_args(argv)
    bodies = _bodies(args.groups + 2)
    with (
        tempfile.TemporaryDirectory(prefix="andon-bench-") as scratch,
        andon_on(args.database, Path(scratch)) as andon,
    ):
        log = traced(andon)
        runs = [delivered(andon, log, body) for body in bodies]
        log.clear()
        cpu = cpu_per_delivery(andon, args.groups)
    joined = runs[2:]  # the first opens the stoppage; the second warms the connections
    locks = args.database == "postgresql"
    figures = {
        "database": args.database,
        "deliveries": len(joined),
        "statements": statistics.median(d.statements for d in joined),
        # SQLite has no row lock: its one writer holds the database for the whole transaction
        "under_line_lock": statistics.median(d.under_lock for d in joined) if locks else None,
        "lock_to_last_ms": round(statistics.median(d.lock_to_last_ms for d in joined), 2)
        if locks
        else None,
        "answered_ms": round(statistics.median(d.answered_ms for d in joined), 2),
        "record_alerts_cpu_ms": round(cpu, 2),
    }
    print(json.dumps(figures))
    return 0


def _bodies(count: int) -> list[bytes]:
    fixture = json.loads(FIXTURE.read_text())
    fps = fingerprints(count * 5, count, 0.0)
    groups: dict[str, list] = {}
    for fp in fps:
        groups.setdefault(fp.group, []).append(fp)
    return [group_body(fixture, members) for members in groups.values()]


if __name__ == "__main__":
    sys.exit(main())
