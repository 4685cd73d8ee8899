"""How fast Andon acks a slash command: a signed ``/line status`` POST until its HTTP 200.

Slack gives a slash command 3 s; the target is p99 under 100 ms with 20 concurrent clients. The
script starts the real ``andon serve`` (with the fake Slack Web API) on SQLite, then on
PostgreSQL, and times with ``time.perf_counter`` around each POST:

- ``/line status`` alone (one client) and with 20 concurrent clients;
- ``GET /healthz`` under the same load, in the same run: the baseline. It is the cheapest request
  the same server answers (HTTP and FastAPI, a ``SELECT 1``, no signature check, no write), so
  ``status − healthz`` is what Andon's slash path adds.

Then 50 different people type ``/line stop <reason>`` at the same moment; the line must end with
exactly one open stoppage carrying 50 causes. The script exits 1 if it does not.

Only loopback traffic, a bounded number of requests; it stops by itself (in under a minute).
Progress goes to stderr; the Markdown for ``bench/README.md`` (or ``--json``) goes to stdout.

    .venv/bin/python bench/slash_ack.py [--json] [--databases sqlite,postgresql]
"""

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests
from clients import Request, Sample, alone, answer_text, concurrent, healthz_request
from common import (
    TIMEOUT_S,
    complaints,
    cpu_cell,
    cpu_clock,
    each_database,
    load_average,
    log_tail,
    machine,
    machine_table,
    progress,
    sample_json,
    server_log,
    skipped_row,
    verdict,
    wanted_databases,
)
from line_stops import StopCheck, concurrent_stops

from tests.fakes.slack import FakeSlack
from tests.harness import AndonServer
from tests.slack_requests import signed_headers, slash_command

TARGET_P99_MS = 100.0


say = progress("slash_ack")


# --- the requests ---------------------------------------------------------------------------


def status_request(server: AndonServer) -> Request:
    response_url = server.slack.response_url("bench") if server.slack else "http://127.0.0.1:9/"

    def send(session: requests.Session, n: int) -> tuple[float, int, bool]:
        body, kind = slash_command(
            "/line", "status", user=f"U0LOAD{n % 97:02d}", name="load", response_url=response_url
        )
        headers = {"Content-Type": kind, **signed_headers(body)}  # signed afresh, every time
        started = time.perf_counter()
        answer = session.post(
            server.url + "/slack/events", data=body, headers=headers, timeout=TIMEOUT_S
        )
        took = time.perf_counter() - started
        ok = answer.status_code == 200 and answer_text(answer).startswith("The line ")
        return took, answer.status_code, ok

    return send


# --- one database ---------------------------------------------------------------------------


@dataclass
class Run:
    database: str
    samples: list[Sample] = field(default_factory=list)
    stops: StopCheck | None = None
    log_errors: list[str] = field(default_factory=list)
    skipped: str | None = None


def bench(
    database: str, url: str, workdir: Path, args: argparse.Namespace, postmaster: int | None = None
) -> Run:
    run = Run(database)
    with FakeSlack() as slack:
        server = AndonServer(workdir, database_url=url, slack=slack)
        try:
            say(f"{database}: starting andon serve")
            server.start()
            status, healthz = status_request(server), healthz_request(server)
            cpu = cpu_clock(server.process.pid, postmaster)
            say(f"{database}: warm-up")
            alone(database, "warm-up", healthz, args.warmup, cpu)
            alone(database, "warm-up", status, args.warmup, cpu)
            concurrent(database, "warm-up", healthz, args.clients, 3, server.url, cpu)
            concurrent(database, "warm-up", status, args.clients, 3, server.url, cpu)
            for name, send in (("healthz", healthz), ("status", status)):
                say(f"{database}: {name} alone, {args.alone} requests")
                run.samples.append(alone(database, name, send, args.alone, cpu))
            for name, send in (("healthz", healthz), ("status", status)):
                say(f"{database}: {name}, {args.clients} clients × {args.each} requests")
                run.samples.append(
                    concurrent(database, name, send, args.clients, args.each, server.url, cpu)
                )
            say(f"{database}: {args.stops} concurrent /line stop")
            run.stops = concurrent_stops(database, server, slack, args.stops)
        except BaseException:
            say(f"{database}: failed; the end of the server's log:\n" + log_tail(server, 30))
            raise
        finally:
            server.stop()
        run.log_errors = complaints(server.log())
        for entry in run.log_errors:
            say(f"{database}: the server logged:\n{entry}")
    for sample in run.samples:
        if sample.wrong or sample.failed:
            say(f"{database}: {sample.request} ×{sample.clients}: {sample.summary()['statuses']}")
    return run


# --- the report -----------------------------------------------------------------------------


def markdown(runs: list[Run], box: dict[str, str], args: argparse.Namespace) -> str:
    out = machine_table(box)
    out += _latency_table(runs, args)
    out += _added_table(runs)
    out += _target(runs, args)
    out += _stops_table(runs, args)
    out += server_log(runs)
    return "\n".join(out)


def _latency_table(runs: list[Run], args: argparse.Namespace) -> list[str]:
    out = [
        "",
        "**Load**: client and server on the same machine over loopback; one `requests.Session` "
        f"per client thread. Alone: {args.alone} requests, one after the other. Concurrent: "
        f"{args.clients} clients × {args.each} requests each, released together, each sending "
        "its next request as soon as the last is answered. After a warm-up.",
        "",
        "**Time from POST to HTTP 200, ms** (CPU: per request, of `andon serve` · of PostgreSQL "
        "· of this client)",
        "",
        "| database | request | clients | requests | not ok | p50 | p99 | max | req/s | CPU ms |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for run in runs:
        if run.skipped:
            out.append(skipped_row(run.database, run.skipped, 10))
            continue
        for s in (x.summary() for x in run.samples):
            label = "`/line status`" if s["request"] == "status" else "`GET /healthz` (baseline)"
            cpu = cpu_cell(s)
            out.append(
                f"| {s['database']} | {label} | {s['clients']} | {s['requests']} | "
                f"{s['not_ok']} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['max_ms']:.1f} | "
                f"{s['requests_per_s']:.0f} | {cpu} |"
            )
    return out


def _added_table(runs: list[Run]) -> list[str]:
    """status − healthz at each load: what Andon's slash path adds."""
    out = ["", "**What the slash path adds over the baseline** (status − healthz, ms)", ""]
    out += ["| database | clients | p50 | p99 |", "|---|--:|--:|--:|"]
    for run in runs:
        by = {(s.request, s.clients): s for s in run.samples}
        for clients in sorted({s.clients for s in run.samples}):
            status, healthz = by.get(("status", clients)), by.get(("healthz", clients))
            if status and healthz:
                p50 = status.percentile_ms(50) - healthz.percentile_ms(50)
                p99 = status.percentile_ms(99) - healthz.percentile_ms(99)
                out.append(f"| {run.database} | {clients} | {p50:+.1f} | {p99:+.1f} |")
    return out


def _target(runs: list[Run], args: argparse.Namespace) -> list[str]:
    out = ["", f"**Target**: p99 under {TARGET_P99_MS:.0f} ms at {args.clients} concurrent.", ""]
    for run in runs:
        for s in run.samples:
            if s.request == "status" and s.clients == args.clients:
                p99 = s.percentile_ms(99)
                met = p99 < TARGET_P99_MS and not (s.wrong or s.failed)
                out.append(f"- {run.database}: p99 {p99:.1f} ms — {'met' if met else 'MISSED'}")
    return out


def _stops_table(runs: list[Run], args: argparse.Namespace) -> list[str]:
    out = [
        "",
        f"**{args.stops} concurrent `/line stop <reason>`** (different people, one barrier)",
        "",
        "| database | HTTP 200 | stopped / already stopped | open stoppages | causes | "
        "stoppages recorded | announcements / cause replies | p50 ms | max ms | result |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for run in runs:
        c = run.stops
        if c is None:
            continue
        opened = 1 if c.open_stoppage and c.open_stoppage.get("state") == "open" else 0
        out.append(
            f"| {c.database} | {c.answers.get('200', 0)}/{c.people} | "
            f"{c.stopped_answers} / {c.already_stopped_answers} | {opened} | {c.causes} | "
            f"{c.stoppages_recorded:.0f} | {c.announcements} / {c.cause_replies} | "
            f"{c.p50_ms:.1f} | {c.max_ms:.1f} | {verdict(c.problems)} |"
        )
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", action="store_true", help="print raw figures as JSON")
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--alone", type=int, default=300, help="requests from one client")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument("--each", type=int, default=50, help="requests per concurrent client")
    parser.add_argument("--warmup", type=int, default=30, help="warm-up requests of each kind")
    parser.add_argument("--stops", type=int, default=50, help="people stopping at once")
    return parser.parse_args(argv)


def raw(runs: list[Run], box: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    return {
        "machine": box,
        "settings": vars(args),
        "target_p99_ms": TARGET_P99_MS,
        "runs": [
            {
                "database": r.database,
                "skipped": r.skipped,
                "samples": [sample_json(s) for s in r.samples],
                "stops": asdict(r.stops) if r.stops else None,
                "log_errors": r.log_errors,
            }
            for r in runs
        ],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="andon-bench-") as scratch:
        runs, pg_version = each_database(
            wanted_databases(args.databases),
            scratch=Path(scratch),
            run=lambda on: bench(on.name, on.url, on.workdir, args, on.postmaster),
            skip=lambda name, why: Run(name, skipped=why),
            say=say,
        )
    box = machine(pg_version, load_before)
    if args.json:
        print(json.dumps(raw(runs, box, args), indent=2, default=str))
    else:
        print(markdown(runs, box, args))
    return tell_stops(runs)


def tell_stops(runs: list[Run]) -> int:
    """On stderr, how the concurrent stops ended; 1 if not as they should."""
    problems = [(r.database, p) for r in runs if r.stops for p in r.stops.problems]
    for database, problem in problems:
        say(f"{database}: concurrent stops: {problem}")
    if problems:
        for run in runs:
            if run.stops:
                say(f"{run.database}: the open stoppage: {json.dumps(run.stops.open_stoppage)}")
        return 1
    for run in runs:
        if run.stops:
            s = run.stops.open_stoppage or {}
            say(
                f"{run.database}: one open stoppage #{s.get('id')} with {run.stops.causes} causes, "
                f"opened by {(s.get('opened_by') or {}).get('name')}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
