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
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes.slack import FakeSlack  # noqa: E402
from tests.harness import API_TOKEN, AndonServer  # noqa: E402
from tests.postgres import PostgresCluster, server_binaries  # noqa: E402
from tests.slack_requests import signed_headers, slash_command  # noqa: E402

TARGET_P99_MS = 100.0
TIMEOUT_S = 10.0

# One request: given a client's session and its running number, send it and say whether the
# answer was the right one. Returns (seconds from POST to answer, HTTP status or 0, ok).
Request = Callable[[requests.Session, int], tuple[float, int, bool]]


def say(text: str) -> None:
    print(f"[slash_ack {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


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


def healthz_request(server: AndonServer) -> Request:
    def send(session: requests.Session, n: int) -> tuple[float, int, bool]:
        started = time.perf_counter()
        answer = session.get(server.url + "/healthz", timeout=TIMEOUT_S)
        took = time.perf_counter() - started
        return took, answer.status_code, answer.status_code == 200

    return send


def _text(answer: requests.Response) -> str:
    try:
        return str(answer.json().get("text", ""))
    except ValueError:
        return ""


# --- load -----------------------------------------------------------------------------------


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
        ordered = sorted(self.latencies_s)
        if not ordered:
            return math.nan
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1] * 1000

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


def _one_client(send: Request, count: int, first: int, into: Sample) -> None:
    with requests.Session() as session:
        _run_client(session, send, count, first, into)


def _run_client(
    session: requests.Session, send: Request, count: int, first: int, into: Sample
) -> None:
    for n in range(first, first + count):
        try:
            into.add(*send(session, n))
        except requests.RequestException:
            into.failed += 1


Clock = Callable[[], dict[str, float]]


def _ticks(pid: int | str, *, children: bool = False) -> int:
    """utime + stime of one process (+ its reaped children's), in clock ticks; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    used = int(fields[11]) + int(fields[12])
    return used + (int(fields[13]) + int(fields[14]) if children else 0)


def cpu_clock(andon_pid: int, postmaster_pid: int | None) -> Clock:
    """CPU seconds used so far by ``andon serve``, the PostgreSQL cluster and this client."""
    tick = os.sysconf("SC_CLK_TCK")

    def postgres() -> float:
        assert postmaster_pid is not None
        used = _ticks(postmaster_pid, children=True)  # exited backends were reaped by it
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                ppid = stat.read_text().rsplit(")", 1)[1].split()[1]
            except (OSError, IndexError):
                continue
            if ppid == str(postmaster_pid):
                used += _ticks(stat.parent.name)
        return used / tick

    def now() -> dict[str, float]:
        used = {"andon": _ticks(andon_pid) / tick}
        if postmaster_pid is not None:
            used["postgres"] = postgres()
        used["client"] = time.process_time()
        return used

    return now


def _spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before[k] for k in before}


def alone(database: str, name: str, send: Request, count: int, cpu: Clock) -> Sample:
    sample = Sample(database, name, 1)
    with requests.Session() as session:
        cpu_before, started = cpu(), time.perf_counter()
        _run_client(session, send, count, 0, sample)
        sample.wall_s = time.perf_counter() - started
        sample.cpu_s = _spent(cpu_before, cpu())
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
    sample.cpu_s = _spent(cpu_before, cpu())
    for part in parts:
        sample.merge(part)
    return sample


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
            say(f"{database}: failed; the end of the server's log:\n" + _tail(server, 30))
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


# A log record's first line: Andon's format (``2026-… LEVEL name: …``), uvicorn's (``LEVEL: …``),
# or what Python prints for an exception nobody caught in a thread.
_RECORD = re.compile(
    r"^(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (?P<level>[A-Z]+) |(?P<uvicorn>[A-Z]+):\s"
    r"|Exception in thread)"
)


def complaints(log: str) -> list[str]:
    """The server log's warnings, errors and tracebacks, each with its continuation lines."""
    records: list[list[str]] = []
    for line in log.splitlines():
        # A traceback belongs to the one-line record that announced it, else it stands alone.
        lone_traceback = line.startswith("Traceback") and (not records or len(records[-1]) > 1)
        if _RECORD.match(line) or lone_traceback or not records:
            records.append([])
        records[-1].append(line)
    found = []
    for record in records:
        head = _RECORD.match(record[0])
        level = (head.group("level") or head.group("uvicorn") or "ERROR") if head else ""
        if level not in ("", "INFO", "DEBUG") or any(x.startswith("Traceback") for x in record):
            found.append("\n".join(record))
    return found


def _tail(server: AndonServer, lines: int) -> str:
    try:
        return "\n".join(server.log().splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def postgres_cluster() -> Iterator[tuple[PostgresCluster | None, str]]:
    """A throwaway cluster, or ``None`` and why there is none."""
    binaries = server_binaries()
    if binaries is None:
        yield None, "no PostgreSQL server binaries (initdb) on this machine"
        return
    try:
        cluster = PostgresCluster(binaries)
    except KeyError:
        yield None, "running as root but there is no 'postgres' user to own the cluster"
        return
    say("postgresql: initdb and start a throwaway cluster")
    try:
        cluster.start()
    except BaseException:
        shutil.rmtree(cluster.root, ignore_errors=True)
        raise
    try:
        yield cluster, ""
    finally:
        cluster.stop()


def _pg_version(cluster: PostgresCluster) -> str:
    import psycopg

    with psycopg.connect(cluster.url("postgres")) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


def _postmaster(cluster: PostgresCluster) -> int | None:
    try:
        return int((cluster.root / "data" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


# --- the machine ----------------------------------------------------------------------------


def load_average() -> str:
    """The 1-minute load: other work on the machine skews every figure, so the report shows it."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except (OSError, IndexError):
        return "?"


def machine(pg_version: str, load_before: str) -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    usable = len(os.sched_getaffinity(0))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    packages = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("uvicorn", "fastapi", "slack_bolt", "SQLAlchemy", "psycopg")
    )
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores ({usable} usable)",
        "memory": memory,
        "OS": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "PostgreSQL": pg_version,
        "packages": packages,
        "commit": commit or "unknown",
        "load average (1 min) before / after": f"{load_before} / {load_average()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# --- the report -----------------------------------------------------------------------------


def markdown(runs: list[Run], box: dict[str, str], args: argparse.Namespace) -> str:
    out = ["**Machine**", "", "| | |", "|---|---|"]
    out += [f"| {key} | {value} |" for key, value in box.items()]
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
            used = s["cpu_ms_per_request"]
            cpu = " · ".join(
                f"{used[k]:.2f}" if k in used else "–" for k in ("andon", "postgres", "client")
            )
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


def server_log(runs: list[Any]) -> list[str]:
    """The Markdown lines that report what the servers logged: warnings, errors, tracebacks."""
    logged = [(run.database, entry) for run in runs for entry in run.log_errors]
    out = ["", f"**Server log**: {len(logged)} warnings, errors or tracebacks during the run."]
    for database, entry in logged[:12]:
        lines = entry.splitlines()
        shown = lines[0] if len(lines) == 1 else f"{lines[0][:100]} … {lines[-1]}"
        out.append(f"- {database}: `{shown[:220]}`")
    return out


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
        if "sqlite" in wanted:
            url = f"sqlite:///{Path(scratch) / 'sqlite' / 'andon.db'}"
            runs.append(bench("sqlite", url, Path(scratch) / "sqlite", args))
        if "postgresql" in wanted:
            with postgres_cluster() as (cluster, why):
                if cluster is None:
                    say(f"postgresql: skipped — {why}")
                    pg_version = f"skipped: {why}"
                    runs.append(Run("postgresql", skipped=why))
                else:
                    url, pg_version = cluster.create_database("andon_bench"), _pg_version(cluster)
                    workdir = Path(scratch) / "postgresql"
                    runs.append(bench("postgresql", url, workdir, args, _postmaster(cluster)))

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
