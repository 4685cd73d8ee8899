"""How many CI results one ``andon serve`` takes in a second, and how long one result takes.

The issue's target: at least 300 results/s on SQLite on 2 cores, and p99 under 50 ms at 50
results/s. The script starts the real ``andon serve`` (with the fake Slack Web API) on SQLite, then
on PostgreSQL, and POSTs signed generic results (``X-Andon-Signature``) to ``/hooks/ci/generic``
over loopback, timing each with ``time.perf_counter``:

- throughput: 8 and 32 concurrent clients, each with its own ``requests.Session``, send their
  share of 3,200 results back to back. Each result is distinct (a random 40-hex revision) and is
  passed or running on a feature branch: stored and audited, nothing announced, the line not
  stopped — the steady-state ingest path;
- paced: one open-loop sender, 50 results a second for 20 s, each POST sent at its scheduled time
  whatever the answers before it did (16 sender threads); its latency, and whether the pace held;
- at the end, alone, one red build on ``main``: announced in the channel and the line stopped.

The baselines go through the same server under the same load in the same run: ``GET /healthz``
(HTTP, FastAPI and a ``SELECT 1``); a signed generic payload with a bad ``status`` (authenticated,
parsed and refused with 422: no database at all); and a signed GitHub ``pull_request`` ``labeled``
delivery (``X-Hub-Signature-256``; the head did not move, so it is answered 202 ignored, which
writes one ``webhook`` audit row and nothing else). ``result − ignored`` is what storing a
result costs beyond a one-row audited write.

Afterwards every result sent must be stored exactly once: each has its own 7-hex short revision,
so its ``ci.result`` audit row (written in the same transaction as the result) is found by its
detail, read back through ``GET /api/audit`` pages. The line must still be running and nothing may
have been posted to Slack before the red build. The script exits 1 if any of that fails.

Only loopback traffic, a bounded number of requests; it stops by itself (in 4–5 minutes).
Progress goes to stderr; the Markdown for ``bench/README.md`` (or ``--json``) goes to stdout.

    .venv/bin/python bench/ci_ingest.py [--json] [--databases sqlite,postgresql]
"""

import argparse
import json
import math
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ci_checks import Run, check_stored, red_build
from ci_deliveries import KINDS, Deliveries
from ci_report import TARGET_PACED_P99_MS, TARGET_RESULTS_PER_S, markdown
from clients import Paced, Sample, alone, concurrent, paced
from common import (
    Clock,
    complaints,
    cpu_clock,
    each_database,
    filesystem,
    load_average,
    log_tail,
    progress,
    sample_json,
    spent,
    sqlite_machine,
    wanted_databases,
)

from tests.fakes.slack import FakeSlack
from tests.harness import AndonServer

say = progress("ci_ingest")


# --- one database ---------------------------------------------------------------------------


def bench(
    database: str, url: str, workdir: Path, args: argparse.Namespace, postmaster: int | None = None
) -> Run:
    run = Run(database)
    with FakeSlack() as slack:
        server = AndonServer(workdir, database_url=url, slack=slack)
        try:
            say(f"{database}: starting andon serve")
            server.start()
            load = Deliveries(server)
            cpu = cpu_clock(server.process.pid, postmaster)
            warm_up(database, load, args, server.url, cpu)
            run.idle_cpu = idle_cpu(args.idle, cpu)
            run.samples = throughput(database, load, args, server.url, cpu)
            run.paced = paced_phases(database, load, args, server.url, cpu)
            say(f"{database}: checking that every result was stored exactly once")
            run.stored = check_stored(database, server, load, slack)
            say(f"{database}: a red build on main, alone")
            run.red = red_build(database, server, slack)
        except BaseException:
            say(f"{database}: failed; the end of the server's log:\n" + log_tail(server, 30))
            raise
        finally:
            server.stop()
        run.log_errors = complaints(server.log())
        for entry in run.log_errors:
            say(f"{database}: the server logged:\n{entry}")
    for sample in [*run.samples, *(p.sample for p in run.paced)]:
        if sample.wrong or sample.failed:
            say(f"{database}: {sample.request} ×{sample.clients}: {sample.summary()['statuses']}")
    return run


def warm_up(
    database: str, load: Deliveries, args: argparse.Namespace, url: str, cpu: Clock
) -> None:
    say(f"{database}: warm-up")
    for kind in KINDS:
        send = load.request(kind, "warm-up", args.warmup)
        alone(database, "warm-up", send, args.warmup, cpu)
        clients = max(args.clients)
        send = load.request(kind, "warm-up", clients * 5)
        concurrent(database, "warm-up", send, clients, 5, url, cpu)


def idle_cpu(seconds: float, cpu: Clock) -> dict[str, float]:
    """What the processes burn with no requests at all (the courier's and scheduler's polls),
    which a paced phase's CPU per request includes: per cent of a core."""
    before, started = cpu(), time.perf_counter()
    time.sleep(seconds)
    idle = spent(before, cpu())
    return {k: round(v * 100 / (time.perf_counter() - started), 2) for k, v in idle.items()}


def throughput(
    database: str, load: Deliveries, args: argparse.Namespace, url: str, cpu: Clock
) -> list[Sample]:
    """Each kind of request as fast as each number of clients can send it."""
    samples = []
    for clients in args.clients:
        each = math.ceil(args.results / clients)
        for kind in KINDS:
            say(f"{database}: {kind}, {clients} clients × {each} requests")
            send = load.request(kind, f"{clients} clients", clients * each)
            sample = concurrent(database, kind, send, clients, each, url, cpu)
            samples.append(sample)
            s = sample.summary()
            say(
                f"{database}: {kind} ×{clients}: {s['requests_per_s']}/s, "
                f"p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms, not ok {s['not_ok']}"
            )
    return samples


def paced_phases(
    database: str, load: Deliveries, args: argparse.Namespace, url: str, cpu: Clock
) -> list[Paced]:
    """Each kind of request at the paced rate."""
    phases = []
    planned = int(args.rate * args.seconds)
    for kind in KINDS:
        say(f"{database}: {kind} paced at {args.rate:g}/s for {args.seconds:g} s")
        send = load.request(kind, "paced", planned)
        done = paced(database, kind, send, args.rate, args.seconds, args.senders, url, cpu)
        phases.append(done)
        s = done.summary()
        say(
            f"{database}: {kind} paced: p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms, "
            f"max {s['max_ms']} ms, held {s['pace_held']}"
        )
    return phases


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", action="store_true", help="print raw figures as JSON")
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--clients", default="8,32", help="concurrent clients, comma-separated")
    parser.add_argument("--results", type=int, default=3200, help="requests of each kind, shared")
    parser.add_argument("--rate", type=float, default=50.0, help="paced requests per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each paced phase")
    parser.add_argument("--senders", type=int, default=16, help="paced sender threads")
    parser.add_argument("--warmup", type=int, default=30, help="warm-up requests of each kind")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of idle CPU measured")
    args = parser.parse_args(argv)
    args.clients = [int(c) for c in str(args.clients).split(",") if c.strip()]
    return args


def raw(runs: list[Run], box: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    return {
        "machine": box,
        "settings": vars(args),
        "targets": {
            "results_per_s_sqlite_2_cores": TARGET_RESULTS_PER_S,
            "paced_p99_ms": TARGET_PACED_P99_MS,
        },
        "runs": [
            {
                "database": r.database,
                "skipped": r.skipped,
                "throughput": [sample_json(s) for s in r.samples],
                "paced": [
                    {
                        **p.summary(),
                        "latencies_ms": [round(x * 1000, 3) for x in p.sample.latencies_s],
                    }
                    for p in r.paced
                ],
                "idle_cpu_percent": r.idle_cpu,
                "stored": asdict(r.stored) if r.stored else None,
                "red_build": asdict(r.red) if r.red else None,
                "log_errors": r.log_errors,
            }
            for r in runs
        ],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="andon-bench-") as scratch:
        where = filesystem(scratch)
        runs, pg_version = each_database(
            wanted_databases(args.databases),
            scratch=Path(scratch),
            run=lambda on: bench(on.name, on.url, on.workdir, args, on.postmaster),
            skip=lambda name, why: Run(name, skipped=why),
            say=say,
            note_data=True,
        )
    box = sqlite_machine(pg_version, load_before, where)
    if args.json:
        print(json.dumps(raw(runs, box, args), indent=2, default=str))
    else:
        print(markdown(runs, box, args))
    problems = [
        (r.database, p)
        for r in runs
        for p in [*(r.stored.problems if r.stored else []), *(r.red.problems if r.red else [])]
    ]
    for database, problem in problems:
        say(f"{database}: {problem}")
    if problems:
        return 1
    for run in runs:
        if run.stored:
            sent = sum(c["sent"] for c in run.stored.by_phase.values())
            say(f"{run.database}: all {sent} results stored exactly once; the red build stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
