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
import itertools
import json
import math
import random
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests
from clients import Request, Sample, alone, answer_json, concurrent, healthz_request
from common import (
    TIMEOUT_S,
    Clock,
    complaints,
    cpu_cell,
    cpu_clock,
    each_database,
    filesystem,
    load_average,
    log_tail,
    machine_table,
    percentile,
    progress,
    sample_json,
    server_log,
    skipped_row,
    spent,
    sqlite_machine,
    verdict,
    wanted_databases,
)

from tests.ci_payloads import signature
from tests.fakes.slack import FakeSlack
from tests.harness import API_TOKEN, AndonServer

TARGET_RESULTS_PER_S = 300.0
TARGET_PACED_P99_MS = 50.0
PIPELINES = ("tests", "lint", "build")
FEATURE_BRANCHES = 16
SLACK_WRITES = ("chat.postMessage", "chat.postEphemeral", "chat.update", "conversations.open")
KINDS = ("healthz", "rejected", "ignored", "result")
LABELS = {
    "healthz": "`GET /healthz` (baseline)",
    "rejected": "signed, refused 422 (baseline)",
    "ignored": "GitHub `pull_request` labeled, 202 (baseline)",
    "result": "**generic result, stored**",
}


say = progress("ci_ingest")


# --- the deliveries -------------------------------------------------------------------------


def _signed(body: bytes, header: str) -> dict[str, str]:
    return {"Content-Type": "application/json", header: signature(body)}


@dataclass
class Sent:
    """A result that went out: its ``ci.result`` audit detail names it, and the phase it was in."""

    phase: str
    detail: str
    answer: dict[str, Any] | None = None


class Deliveries:
    """Builds the bodies, remembers every result sent, and counts the ignored deliveries."""

    def __init__(self, server: AndonServer) -> None:
        self.server = server
        self.sent: dict[str, Sent] = {}  # by short revision, unique over the run
        self.ignored_sent = 0
        self._lock = threading.Lock()
        self._random = random.Random(secrets.randbits(64))

    def _revision(self) -> str:
        """A random 40-hex revision whose 7-hex short form no earlier result had."""
        while True:
            revision = secrets.token_hex(20)
            if revision[:7] not in self.sent:
                return revision

    def results(self, phase: str, count: int) -> Request:
        """``count`` distinct passed or running results on feature branches, signed in advance."""
        bodies = []
        for n in range(count):
            revision = self._revision()
            status = self._random.choice(("passed", "running"))
            pipeline = PIPELINES[n % len(PIPELINES)]
            branch = f"feature/bench-{n % FEATURE_BRANCHES:02d}"
            payload = {
                "revision": revision,
                "branch": branch,
                "status": status,
                "pipeline": pipeline,
                "run_id": f"{phase}-{n}",
                "url": f"https://ci.example.com/{pipeline}/{phase}-{n}",
                "duration_s": 60 + n % 240,
                "author_name": "Load Bench",
                "author_email": "bench@example.com",
                "subject": f"Bench commit {n}",
            }
            detail = f"{pipeline} {status} {revision[:7]} ({branch})"
            self.sent[revision[:7]] = Sent(phase, detail)
            body = json.dumps(payload).encode()
            bodies.append((body, _signed(body, "X-Andon-Signature"), revision[:7]))
        url = self.server.url + "/hooks/ci/generic"

        def send(session: requests.Session, n: int) -> tuple[float, int, bool]:
            body, headers, short = bodies[n]
            started = time.perf_counter()
            answer = session.post(url, data=body, headers=headers, timeout=TIMEOUT_S)
            took = time.perf_counter() - started
            got = answer_json(answer)
            self.sent[short].answer = got
            ok = (
                answer.status_code == 200
                and isinstance(got.get("recorded"), int)
                and got.get("stopped_line") is False
            )
            return took, answer.status_code, ok

        return send

    def ignored(self) -> Request:
        """A GitHub ``pull_request`` ``labeled``: authenticated, answered 202, one audit row."""
        url = self.server.url + "/hooks/ci/github"

        def send(session: requests.Session, n: int) -> tuple[float, int, bool]:
            payload = {
                "action": "labeled",  # a pull request whose head did not move: answered, ignored
                "number": n + 1,
                "label": {"name": "bench"},
                "pull_request": {
                    "number": n + 1,
                    "state": "open",
                    "title": f"Bench change {n}",
                    "head": {"sha": secrets.token_hex(20), "ref": f"feature/bench-{n % 16}"},
                    "base": {"ref": "main"},
                    "user": {"login": "load-bench"},
                },
                "repository": {"full_name": "example/line"},
            }
            body = json.dumps(payload).encode()
            headers = {
                **_signed(body, "X-Hub-Signature-256"),
                "X-GitHub-Event": "pull_request",
                "X-GitHub-Delivery": secrets.token_hex(16),
            }
            with self._lock:
                self.ignored_sent += 1
            started = time.perf_counter()
            answer = session.post(url, data=body, headers=headers, timeout=TIMEOUT_S)
            took = time.perf_counter() - started
            return (
                took,
                answer.status_code,
                answer.status_code == 202 and "ignored" in answer_json(answer),
            )

        return send

    def rejected(self) -> Request:
        """A signed generic payload whose ``status`` is wrong: 422, before any database work."""
        url = self.server.url + "/hooks/ci/generic"

        def send(session: requests.Session, n: int) -> tuple[float, int, bool]:
            payload = {
                "revision": secrets.token_hex(20),
                "branch": f"feature/bench-{n % 16:02d}",
                "status": "exploded",
                "pipeline": PIPELINES[n % len(PIPELINES)],
                "run_id": f"rejected-{n}",
                "url": f"https://ci.example.com/rejected-{n}",
                "duration_s": 60 + n % 240,
                "author_name": "Load Bench",
                "author_email": "bench@example.com",
                "subject": f"Bench commit {n}",
            }
            body = json.dumps(payload).encode()
            headers = _signed(body, "X-Andon-Signature")
            started = time.perf_counter()
            answer = session.post(url, data=body, headers=headers, timeout=TIMEOUT_S)
            took = time.perf_counter() - started
            return took, answer.status_code, answer.status_code == 422

        return send

    def healthz(self) -> Request:
        return healthz_request(self.server)

    def request(self, kind: str, phase: str, count: int) -> Request:
        if kind == "result":
            return self.results(phase, count)
        return {"healthz": self.healthz, "rejected": self.rejected, "ignored": self.ignored}[kind]()


# --- paced: an open-loop sender ------------------------------------------------------------


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


# --- the checks -----------------------------------------------------------------------------


@dataclass
class Stored:
    """Were the results sent stored exactly once? Read back through the audit log."""

    database: str
    by_phase: dict[str, dict[str, int]] = field(default_factory=dict)
    ignored_sent: int = 0
    ignored_audited: int = 0
    audit_rows: int = 0
    line_state: str = ""
    slack_writes: int = 0
    problems: list[str] = field(default_factory=list)


def audit_rows(server: AndonServer) -> list[dict[str, Any]]:
    """Every audit entry, newest first, 1,000 a page."""
    rows: list[dict[str, Any]] = []
    before = ""
    while True:
        page = server.api(f"/api/audit?limit=1000{before}", token=API_TOKEN)
        page.raise_for_status()
        entries = page.json()["entries"]
        rows += entries
        if len(entries) < 1000:
            return rows
        before = f"&before={entries[-1]['id']}"


def check_stored(database: str, server: AndonServer, load: Deliveries, slack: FakeSlack) -> Stored:
    check = Stored(database, ignored_sent=load.ignored_sent)
    rows = audit_rows(server)
    check.audit_rows = len(rows)
    found = Counter(r["detail"] for r in rows if r["action"] == "ci.result")
    check.ignored_audited = sum(
        r["action"] == "webhook" and r["detail"].startswith("ignored:") for r in rows
    )
    ids: Counter[int] = Counter()
    expected = {s.detail for s in load.sent.values()}
    for sent in load.sent.values():
        phase = check.by_phase.setdefault(
            sent.phase,
            {"sent": 0, "answered_recorded": 0, "stored_once": 0, "lost": 0, "doubled": 0},
        )
        phase["sent"] += 1
        if sent.answer and isinstance(sent.answer.get("recorded"), int):
            phase["answered_recorded"] += 1
            ids[sent.answer["recorded"]] += 1
        times = found[sent.detail]
        phase["stored_once"] += times == 1
        phase["lost"] += times == 0
        phase["doubled"] += times > 1
    for name, phase in check.by_phase.items():
        if phase["lost"] or phase["doubled"]:
            check.problems.append(f"{name}: {phase['lost']} lost, {phase['doubled']} doubled")
        if phase["answered_recorded"] != phase["sent"]:
            missing = phase["sent"] - phase["answered_recorded"]
            check.problems.append(f"{name}: {missing} results not answered 'recorded'")
    strangers = sum(n for detail, n in found.items() if detail not in expected)
    if strangers:
        check.problems.append(f"{strangers} ci.result audit rows for results never sent")
    if any(n > 1 for n in ids.values()):
        check.problems.append("two answers carried the same recorded id")
    if check.ignored_audited != check.ignored_sent:
        check.problems.append(
            f"{check.ignored_sent} ignored deliveries sent, {check.ignored_audited} audited"
        )
    check.line_state = server.api("/api/line", token=API_TOKEN).json()["state"]
    if check.line_state != "running":
        check.problems.append(f"the line is {check.line_state} after feature-branch results")
    check.slack_writes = sum(len(slack.calls(m)) for m in SLACK_WRITES)
    if check.slack_writes:
        check.problems.append(f"{check.slack_writes} Slack posts after feature-branch results")
    return check


@dataclass
class RedBuild:
    """One failed build on ``main``, alone: the expensive path."""

    database: str
    status: int = 0
    answer: dict[str, Any] = field(default_factory=dict)
    latency_ms: float = math.nan
    announced_after_ms: float = math.nan
    line_state: str = ""
    problems: list[str] = field(default_factory=list)


def red_build(database: str, server: AndonServer, slack: FakeSlack) -> RedBuild:
    red = RedBuild(database)
    revision = secrets.token_hex(20)
    payload = {
        "revision": revision,
        "branch": "main",
        "status": "failed",
        "pipeline": "tests",
        "run_id": "red-1",
        "url": "https://ci.example.com/tests/red-1",
        "duration_s": 312,
        "failed_tests": ["tests/test_line.py::test_stop", "tests/test_ci.py::test_red"],
        "author_name": "Load Bench",
        "author_email": "bench@example.com",
        "subject": "Break the build on purpose",
    }
    body = json.dumps(payload).encode()
    headers = _signed(body, "X-Andon-Signature")
    with requests.Session() as session:
        session.get(server.url + "/healthz", timeout=TIMEOUT_S)
        started = time.perf_counter()
        answer = session.post(
            server.url + "/hooks/ci/generic", data=body, headers=headers, timeout=TIMEOUT_S
        )
        red.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        red.status, red.answer = answer.status_code, answer_json(answer)
        try:
            slack.wait_for("chat.postMessage", lambda p: revision[:7] in str(p), timeout=30)
            red.announced_after_ms = round((time.perf_counter() - started) * 1000, 2)
        except AssertionError:
            red.problems.append("no announcement naming the revision in 30 s")
    red.line_state = server.api("/api/line", token=API_TOKEN).json()["state"]
    if red.status != 200 or red.answer.get("stopped_line") is not True:
        red.problems.append(f"answered {red.status} {red.answer}, expected stopped_line true")
    if red.line_state != "stopped":
        red.problems.append(f"the line is {red.line_state}, expected stopped")
    return red


# --- one database ---------------------------------------------------------------------------


@dataclass
class Run:
    database: str
    samples: list[Sample] = field(default_factory=list)
    paced: list[Paced] = field(default_factory=list)
    stored: Stored | None = None
    red: RedBuild | None = None
    idle_cpu: dict[str, float] = field(default_factory=dict)  # per cent of a core, by process
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


# --- the report -----------------------------------------------------------------------------


def markdown(runs: list[Run], box: dict[str, str], args: argparse.Namespace) -> str:
    out = machine_table(box)
    out += _throughput_table(runs, args)
    out += _paced_table(runs, args)
    out += _added_table(runs, args)
    out += _stored_table(runs)
    out += _red_build_table(runs)
    out += _targets(runs, args)
    out += server_log(runs)
    return "\n".join(out)


def _throughput_table(runs: list[Run], args: argparse.Namespace) -> list[str]:
    clients = " and ".join(str(c) for c in args.clients)
    out = [
        "",
        "**Load**: client and server on the same machine over loopback; one `requests.Session` "
        f"per client thread. Throughput: {clients} clients sharing {args.results} requests of "
        "each kind, released together, each sending its next request as soon as the last is "
        f"answered. Paced: {args.rate:g} requests/s for {args.seconds:g} s, each sent at its "
        f"scheduled time by whichever of {args.senders} sender threads is free (open loop). "
        "After a warm-up.",
        "",
        "**Throughput** — time from POST to answer, ms (CPU: per request, of `andon serve` · of "
        "PostgreSQL · of this client)",
        "",
        "| database | request | clients | requests | not ok | req/s | p50 | p99 | max | CPU ms |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for run in runs:
        if run.skipped:
            out.append(skipped_row(run.database, run.skipped, 10))
            continue
        for s in (x.summary() for x in run.samples):
            out.append(
                f"| {s['database']} | {LABELS[s['request']]} | {s['clients']} | "
                f"{s['requests']} | {s['not_ok']} | {s['requests_per_s']:.0f} | "
                f"{s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['max_ms']:.1f} | {cpu_cell(s)} |"
            )
    return out


def _paced_table(runs: list[Run], args: argparse.Namespace) -> list[str]:
    """The paced phases, then what each process burns idle (their CPU includes it)."""
    out = [
        "",
        f"**Paced at {args.rate:g}/s** — time from POST to answer, ms; start lag: how late a "
        "request left against its schedule",
        "",
        "(CPU per request includes what the processes burn when idle, shown below the table; "
        "the same request costs more CPU paced than back to back, baselines too.)",
        "",
        "| database | request | requests | not ok | sent/s | start lag p99 / max | p50 | p99 | "
        "max | CPU ms | pace held |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for run in runs:
        for s in (p.summary() for p in run.paced):
            out.append(
                f"| {s['database']} | {LABELS[s['request']]} | {s['requests']} | {s['not_ok']} | "
                f"{s['achieved_per_s']:.1f} | {s['start_lag_p99_ms']:.1f} / "
                f"{s['start_lag_max_ms']:.1f} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | "
                f"{s['max_ms']:.1f} | {cpu_cell(s)} | {'yes' if s['pace_held'] else 'NO'} |"
            )
    out.append("")
    for run in runs:
        if run.idle_cpu:
            shown = " · ".join(f"{k} {v:.1f} %" for k, v in run.idle_cpu.items())
            out.append(f"- {run.database}, idle for {args.idle:g} s, CPU of one core: {shown}")
    return out


def _added_table(runs: list[Run], args: argparse.Namespace) -> list[str]:
    """result − each baseline, at each load."""
    out = [
        "",
        "**What storing a result adds** (result − baseline; throughput in req/s, the rest in ms)",
        "",
        "| database | load | result req/s (÷ healthz · ÷ ignored) | p50 − ignored | "
        "p99 − ignored | andon CPU − ignored | andon CPU − rejected |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for run in runs:
        for name, kinds in _loads(run, args):
            if all(k in kinds for k in KINDS):
                out.append(_added_row(run.database, name, kinds))
    return out


def _loads(run: Run, args: argparse.Namespace) -> list[tuple[str, dict[str, Sample]]]:
    """Each load's samples by kind: every number of clients, then the paced phase."""
    by = {(s.request, s.clients): s for s in run.samples}
    loads: list[tuple[str, dict[str, Sample]]] = [
        (f"{c} clients", {k: by[(k, c)] for k in KINDS if (k, c) in by}) for c in args.clients
    ]
    loads.append((f"paced {args.rate:g}/s", {p.sample.request: p.sample for p in run.paced}))
    return loads


def _added_row(database: str, name: str, kinds: dict[str, Sample]) -> str:
    r, h, i, j = (kinds[k].summary() for k in ("result", "healthz", "ignored", "rejected"))
    rate = f"{r['requests_per_s']:.0f}"
    if not name.startswith("paced"):
        rate += (
            f" ({r['requests_per_s'] / h['requests_per_s']:.2f} · "
            f"{r['requests_per_s'] / i['requests_per_s']:.2f})"
        )
    cpu_i = r["cpu_ms_per_request"]["andon"] - i["cpu_ms_per_request"]["andon"]
    cpu_j = r["cpu_ms_per_request"]["andon"] - j["cpu_ms_per_request"]["andon"]
    return (
        f"| {database} | {name} | {rate} | {r['p50_ms'] - i['p50_ms']:+.1f} | "
        f"{r['p99_ms'] - i['p99_ms']:+.1f} | {cpu_i:+.2f} | {cpu_j:+.2f} |"
    )


def _stored_table(runs: list[Run]) -> list[str]:
    out = [
        "",
        "**Stored exactly once** (every result's `ci.result` audit row, read back through "
        "`GET /api/audit`)",
        "",
        "| database | phase | sent | answered `recorded` | stored once | lost | doubled |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for run in runs:
        if run.stored is None:
            continue
        for phase, c in run.stored.by_phase.items():
            out.append(
                f"| {run.database} | {phase} | {c['sent']} | {c['answered_recorded']} | "
                f"{c['stored_once']} | {c['lost']} | {c['doubled']} |"
            )
    for run in runs:
        st = run.stored
        if st is None:
            continue
        out.append("")
        out.append(
            f"- {run.database}: {st.ignored_audited} of {st.ignored_sent} ignored deliveries "
            f"audited; line {st.line_state}; {st.slack_writes} Slack posts; {verdict(st.problems)}"
        )
    return out


def _red_build_table(runs: list[Run]) -> list[str]:
    out = [
        "",
        "**A red build on `main`, alone** (stored, announced, the line stopped)",
        "",
        "| database | HTTP | POST to answer, ms | POST to announcement in Slack, ms | line | "
        "result |",
        "|---|--:|--:|--:|---|---|",
    ]
    for run in runs:
        red = run.red
        if red is None:
            continue
        out.append(
            f"| {red.database} | {red.status} | {red.latency_ms:.1f} | "
            f"{red.announced_after_ms:.1f} | {red.line_state} | {verdict(red.problems)} |"
        )
    return out


def _targets(runs: list[Run], args: argparse.Namespace) -> list[str]:
    out = [
        "",
        f"**Target**: ≥ {TARGET_RESULTS_PER_S:.0f} results/s on SQLite on 2 cores; p99 under "
        f"{TARGET_PACED_P99_MS:.0f} ms at {args.rate:g} results/s.",
        "",
    ]
    for run in runs:
        for s in run.samples:
            if s.request == "result":
                got = s.summary()["requests_per_s"]
                clean = not (s.wrong or s.failed)
                met = "met" if got >= TARGET_RESULTS_PER_S and clean else "MISSED"
                if run.database != "sqlite":
                    met = "for comparison: the target names SQLite"
                out.append(f"- {run.database}, {s.clients} clients: {got:.0f} results/s — {met}")
        for p in run.paced:
            if p.sample.request == "result":
                s = p.summary()
                clean = not (p.sample.wrong or p.sample.failed) and s["pace_held"]
                met = "met" if s["p99_ms"] < TARGET_PACED_P99_MS and clean else "MISSED"
                out.append(
                    f"- {run.database}, paced {args.rate:g}/s: p99 {s['p99_ms']:.1f} ms — {met}"
                )
    return out


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
