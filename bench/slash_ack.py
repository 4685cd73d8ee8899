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
import math
import re
import sys
import tempfile
import threading
import time
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests
from clients import Request, Sample, alone, answer_json, concurrent, healthz_request
from common import (
    TIMEOUT_S,
    backends,
    complaints,
    cpu_cell,
    cpu_clock,
    load_average,
    log_tail,
    machine,
    machine_table,
    progress,
    server_log,
)

from tests.fakes.slack import FakeSlack
from tests.harness import API_TOKEN, AndonServer
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
        ok = answer.status_code == 200 and _text(answer).startswith("The line ")
        return took, answer.status_code, ok

    return send


def _text(answer: requests.Response) -> str:
    return str(answer_json(answer).get("text", ""))


# --- 50 concurrent stops --------------------------------------------------------------------


@dataclass
class StopCheck:
    database: str
    people: int
    answers: dict[str, int] = field(default_factory=dict)
    stopped_answers: int = 0
    already_stopped_answers: int = 0
    line_state: str = ""
    open_stoppage: dict[str, Any] | None = None
    causes: int = 0
    audit_stops: int = 0
    audit_opened: int = 0
    stoppages_recorded: float = math.nan
    announcements: int = 0
    cause_replies: int = 0
    p50_ms: float = math.nan
    max_ms: float = math.nan
    problems: list[str] = field(default_factory=list)


def concurrent_stops(
    database: str, server: AndonServer, slack: FakeSlack, people: int
) -> StopCheck:
    check = StopCheck(database, people)
    barrier = threading.Barrier(people)
    answers: list[tuple[float, int, str]] = [(math.nan, 0, "")] * people
    reasons = [f"bench cause {i:02d} from person {i}" for i in range(people)]
    slack.forget()

    def person(i: int) -> None:
        body, kind = slash_command(
            "/line",
            f"stop {reasons[i]}",
            user=f"U0STOP{i:03d}",
            name=f"person{i}",
            response_url=slack.response_url(f"stop{i}"),
        )
        with requests.Session() as session:
            session.get(server.url + "/healthz", timeout=TIMEOUT_S)
            barrier.wait(timeout=60)
            headers = {"Content-Type": kind, **signed_headers(body)}
            started = time.perf_counter()
            try:
                answer = session.post(
                    server.url + "/slack/events", data=body, headers=headers, timeout=TIMEOUT_S
                )
            except requests.RequestException as failed:
                answers[i] = (time.perf_counter() - started, 0, repr(failed))
                return
            answers[i] = (time.perf_counter() - started, answer.status_code, _text(answer))

    threads = [threading.Thread(target=person, args=(i,), daemon=True) for i in range(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for _took, status, text in answers:
        check.answers[str(status)] = check.answers.get(str(status), 0) + 1
        check.stopped_answers += text.startswith("You stopped the line")
        check.already_stopped_answers += text.startswith("The line was already stopped")
    took = Sample(database, "stop", people, latencies_s=[a[0] for a in answers])
    check.p50_ms, check.max_ms = (
        round(took.percentile_ms(50), 2),
        round(max(took.latencies_s) * 1000, 2),
    )

    line = server.api("/api/line", token=API_TOKEN).json()
    check.line_state = line["state"]
    check.open_stoppage = line["stoppage"]
    stoppage = line["stoppage"] or {}
    check.causes = len(stoppage.get("causes", []))
    entries = server.api("/api/audit?limit=1000", token=API_TOKEN).json()["entries"]
    stops = [e for e in entries if e["action"] == "line.stop"]
    check.audit_stops = len(stops)
    check.audit_opened = sum(e["message"].startswith("stoppage #") for e in stops)
    metrics = requests.get(server.url + "/metrics", timeout=TIMEOUT_S).text
    found = re.search(r"^andon_stoppages (\S+)$", metrics, re.MULTILINE)
    check.stoppages_recorded = float(found.group(1)) if found else math.nan

    # The courier delivers after the acks: one announcement, its thread, a reply per extra cause.
    with suppress(AssertionError):  # counted below; a shortfall is a problem of its own
        slack.wait_for("chat.postMessage", count=people + 1, timeout=30)
    posts = [c.params for c in slack.calls("chat.postMessage")]
    check.announcements = sum(
        p.get("thread_ts") is None and "Line stopped by" in p.get("text", "") for p in posts
    )
    check.cause_replies = sum("added a cause" in p.get("text", "") for p in posts)

    expect = {
        "HTTP 200 answers": (check.answers.get("200", 0), people),
        "'You stopped the line' answers": (check.stopped_answers, 1),
        "'already stopped' answers": (check.already_stopped_answers, people - 1),
        "line state": (check.line_state, "stopped"),
        "open stoppage": (stoppage.get("state"), "open"),
        "causes on the open stoppage": (check.causes, people),
        "line.stop audit entries": (check.audit_stops, people),
        "audit entries that opened a stoppage": (check.audit_opened, 1),
        "stoppages recorded (andon_stoppages)": (check.stoppages_recorded, 1.0),
        "announcements in the channel": (check.announcements, 1),
        "'added a cause' replies in the thread": (check.cause_replies, people - 1),
    }
    for what, (got, wanted) in expect.items():
        if got != wanted:
            check.problems.append(f"{what}: {got}, expected {wanted}")
    if sorted(c["text"] for c in stoppage.get("causes", [])) != sorted(reasons):
        check.problems.append("the open stoppage's causes are not the 50 reasons sent")
    return check


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
    out += [
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
            out.append(f"| {run.database} | skipped: {run.skipped} | | | | | | | | |")
            continue
        for s in (x.summary() for x in run.samples):
            label = "`/line status`" if s["request"] == "status" else "`GET /healthz` (baseline)"
            cpu = cpu_cell(s)
            out.append(
                f"| {s['database']} | {label} | {s['clients']} | {s['requests']} | "
                f"{s['not_ok']} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['max_ms']:.1f} | "
                f"{s['requests_per_s']:.0f} | {cpu} |"
            )
    out += ["", "**What the slash path adds over the baseline** (status − healthz, ms)", ""]
    out += ["| database | clients | p50 | p99 |", "|---|--:|--:|--:|"]
    for run in runs:
        by = {(s.request, s.clients): s for s in run.samples}
        for clients in sorted({s.clients for s in run.samples}):
            status, healthz = by.get(("status", clients)), by.get(("healthz", clients))
            if status and healthz:
                p50 = status.percentile_ms(50) - healthz.percentile_ms(50)
                p99 = status.percentile_ms(99) - healthz.percentile_ms(99)
                out.append(f"| {run.database} | {clients} | {p50:+.1f} | {p99:+.1f} |")
    out += ["", f"**Target**: p99 under {TARGET_P99_MS:.0f} ms at {args.clients} concurrent.", ""]
    for run in runs:
        for s in run.samples:
            if s.request == "status" and s.clients == args.clients:
                p99 = s.percentile_ms(99)
                verdict = "met" if p99 < TARGET_P99_MS and not (s.wrong or s.failed) else "MISSED"
                out.append(f"- {run.database}: p99 {p99:.1f} ms — {verdict}")
    out += [
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
        result = "ok" if not c.problems else "FAILED: " + "; ".join(c.problems)
        out.append(
            f"| {c.database} | {c.answers.get('200', 0)}/{c.people} | "
            f"{c.stopped_answers} / {c.already_stopped_answers} | {opened} | {c.causes} | "
            f"{c.stoppages_recorded:.0f} | {c.announcements} / {c.cause_replies} | "
            f"{c.p50_ms:.1f} | {c.max_ms:.1f} | {result} |"
        )
    out += server_log(runs)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", action="store_true", help="print raw figures as JSON")
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--alone", type=int, default=300, help="requests from one client")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument("--each", type=int, default=50, help="requests per concurrent client")
    parser.add_argument("--warmup", type=int, default=30, help="warm-up requests of each kind")
    parser.add_argument("--stops", type=int, default=50, help="people stopping at once")
    args = parser.parse_args(argv)
    wanted = [d.strip() for d in args.databases.split(",") if d.strip()]

    runs: list[Run] = []
    pg_version = "not measured"
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="andon-bench-") as scratch:
        for on in backends(wanted, scratch=Path(scratch), say=say):
            if on.skipped:
                runs.append(Run(on.name, skipped=on.skipped))
            else:
                runs.append(bench(on.name, on.url, on.workdir, args, on.postmaster))
            pg_version = on.version or pg_version

    box = machine(pg_version, load_before)
    problems = [(r.database, p) for r in runs if r.stops for p in r.stops.problems]
    if args.json:
        raw = {
            "machine": box,
            "settings": vars(args),
            "target_p99_ms": TARGET_P99_MS,
            "runs": [
                {
                    "database": r.database,
                    "skipped": r.skipped,
                    "samples": [
                        {**s.summary(), "latencies_ms": [round(x * 1000, 3) for x in s.latencies_s]}
                        for s in r.samples
                    ],
                    "stops": asdict(r.stops) if r.stops else None,
                    "log_errors": r.log_errors,
                }
                for r in runs
            ],
        }
        print(json.dumps(raw, indent=2, default=str))
    else:
        print(markdown(runs, box, args))
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
