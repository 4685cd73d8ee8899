"""The alert storms of ``storms.py`` (and of ``alerts.py``, which runs them after its own): each
case on a fresh ``andon serve`` and database, from the first POST until the outbox has nothing
left to send, with ``/line status`` asked throughout. ``storm_report.py`` reads the results.
"""

import copy
import hashlib
import itertools
import json
import math
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from common import ROOT, TIMEOUT_S, complaints, postgres_cluster, progress
from sqlalchemy import create_engine, text

from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, WEBHOOK_SECRET, AndonServer
from tests.slack_requests import signed_headers, slash_command

FIXTURE = ROOT / "tests" / "fixtures" / "alertmanager" / "firing.json"
BEARER = {"Content-Type": "application/json", "Authorization": f"Bearer {WEBHOOK_SECRET}"}
ROTATION = ("U0BENCHA", "U0BENCHB")
CONFIG = f"""
[slack]
channel = "{CHANNEL}"

[oncall]
rotation = {json.dumps(list(ROTATION))}
handoff = "mon 09:00"
repeat = "5m"
ack_timeout = "5m"
"""
CASES = ("group", "names", "minute")
TITLES = {
    "group": "2,000 fingerprints in one POST, one group",
    "names": "2,000 fingerprints in one POST, 2,000 alert names, no groupKey",
    "minute": "10,000 alerts over 60 s: 400 groups of 5, each sent 5 times",
}
TARGET_STATUS_P99_S = 3.0
FEW_DOZEN = 48  # Slack calls a one-request storm may cost
PROBES_PER_S = 10
PROBERS = 8
POST_TIMEOUT_S = 300.0
DRAIN_TIMEOUT_S = 120.0  # the older code may take many minutes to send it all: stop counting


say = progress("storms")


# --- the storms -----------------------------------------------------------------------------


def _body(alerts: list[tuple[str, str]], group: str | None) -> bytes:
    """An Alertmanager webhook (version 4) of ``(alertname, instance)`` alerts, built on the
    fixture's shape; with ``group`` its ``groupKey``, without none."""
    fixture = json.loads(FIXTURE.read_text())
    body = copy.deepcopy(fixture)
    body["alerts"] = []
    for name, instance in alerts:
        alert = copy.deepcopy(fixture["alerts"][0])
        alert["labels"] = {
            "alertname": name,
            "instance": instance,
            "job": "node",
            "severity": "critical",
        }
        alert["annotations"] = {"title": f"{name} on {instance}"}
        alert["fingerprint"] = hashlib.sha256(f"{name},{instance}".encode()).hexdigest()[:16]
        body["alerts"].append(alert)
    if group is None:
        del body["groupKey"]
    else:
        body["groupKey"] = group
        body["groupLabels"] = {"alertname": alerts[0][0]}
    return json.dumps(body).encode()


@dataclass(frozen=True)
class Plan:
    case: str
    schedule: list[float]  # s after the start, per POST
    bodies: list[bytes]
    alerts: int


def plan(case: str) -> Plan:
    if case == "group":
        alerts = [("InstanceDown", f"node-{k:04d}:9100") for k in range(2000)]
        return Plan(case, [0.0], [_body(alerts, '{}:{alertname="InstanceDown"}')], 2000)
    if case == "names":
        alerts = [(f"Storm{k:04d}", f"node-{k:04d}:9100") for k in range(2000)]
        return Plan(case, [0.0], [_body(alerts, None)], 2000)
    groups = [[(f"Group{g:03d}", f"node-{g:03d}-{i}:9100") for i in range(5)] for g in range(400)]
    bodies = [
        _body(members, f'{{}}:{{alertname="Group{g:03d}"}}') for g, members in enumerate(groups)
    ]
    posts = 2000
    return Plan(
        case,
        [60.0 * n / posts for n in range(posts)],
        [bodies[n % 400] for n in range(posts)],
        posts * 5,
    )


# --- /line status, throughout ---------------------------------------------------------------


@dataclass
class Probe:
    sent_s: float  # after the storm's start
    took_ms: float
    status: int
    ok: bool


class Prober:
    """``/line status`` every 1/PROBES_PER_S s, open loop: a slow answer delays no other."""

    def __init__(self, server: AndonServer, slack: FakeSlack) -> None:
        self._server, self._slack = server, slack
        self._stop = threading.Event()
        self._numbers = itertools.count()
        self.probes: list[Probe] = []
        self._lock = threading.Lock()
        self.start = math.nan
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(PROBERS)]

    def begin(self, start: float) -> None:
        self.start = start
        for thread in self._threads:
            thread.start()

    def end(self) -> list[Probe]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=TIMEOUT_S + 5)
        return sorted(self.probes, key=lambda p: p.sent_s)

    def _run(self) -> None:
        response_url = self._slack.response_url("bench")
        with requests.Session() as session:
            while not self._stop.is_set():
                n = next(self._numbers)
                due = self.start + n / PROBES_PER_S
                wait = due - time.perf_counter()
                if wait > 0 and self._stop.wait(wait):
                    return
                body, kind = slash_command(
                    "/line",
                    "status",
                    user=f"U0PROBE{n % 7}",
                    name="probe",
                    response_url=response_url,
                )
                headers = {"Content-Type": kind, **signed_headers(body)}
                left = time.perf_counter()
                try:
                    answer = session.post(
                        self._server.url + "/slack/events",
                        data=body,
                        headers=headers,
                        timeout=TIMEOUT_S,
                    )
                    status = answer.status_code
                    ok = status == 200 and str(answer.json().get("text", "")).startswith(
                        "The line "  # "is stopped" before 2026-12, "has been stopped" since
                    )
                except (requests.RequestException, ValueError):
                    status, ok = 0, False
                took = (time.perf_counter() - left) * 1000
                with self._lock:
                    self.probes.append(
                        Probe(round(left - self.start, 3), round(took, 2), status, ok)
                    )


# --- one run --------------------------------------------------------------------------------


@dataclass
class Result:
    case: str
    database: str
    code: str  # "this checkout" or "baseline (<sha>)"
    alerts: int = 0
    posts: int = 0
    answers_ms: list[float] = field(default_factory=list)
    not_ok_posts: int = 0
    paged: int = 0  # the answers' sum
    pages: dict[str, int] = field(default_factory=dict)  # by status, from the database
    calls: dict[str, int] = field(default_factory=dict)
    here: int = 0
    sent_s: float = math.nan  # the last POST answered, after the start
    drained_s: float = math.nan  # nothing left to send, after the start
    left_queued: float = 0.0  # messages still queued when counting stopped
    probes: list[Probe] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    skipped: str | None = None


def _kind(method: str, params: dict[str, Any]) -> str:
    channel = str(params.get("channel", ""))
    if method == "chat.postMessage":
        if channel.startswith("D"):
            return "DM"
        return "thread reply" if params.get("thread_ts") else "channel post"
    return method


def _pending(server: AndonServer) -> float:
    metrics = requests.get(server.url + "/metrics", timeout=TIMEOUT_S).text
    found = re.search(r'^andon_outbox_messages\{status="pending"\} (\S+)$', metrics, re.M)
    return float(found.group(1)) if found else math.inf


def _pages(url: str) -> dict[str, int]:
    """Pages by status, read with SQL: the older schema and this one read alike."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT status, count(*) FROM page GROUP BY status"))
            return {str(status): int(count) for status, count in rows}
    finally:
        engine.dispose()


def run_case(
    case: str, *, database: str, url: str, workdir: Path, code: str, pythonpath: str | None
) -> Result:
    """One storm on a fresh server and database, from the first POST until Slack heard all."""
    storm = plan(case)
    result = Result(case, database, code, alerts=storm.alerts, posts=len(storm.bodies))
    with FakeSlack() as slack:
        server = AndonServer(workdir, database_url=url, slack=slack, config=CONFIG)
        if pythonpath:
            server.env["PYTHONPATH"] = pythonpath
        try:
            server.start()
            slack.wait_for(  # the first tick's handoff DM, before the storm's lane fills
                "chat.postMessage",
                lambda p: p.get("text", "").startswith("You are on call"),
                timeout=30,
            )
            slack.forget()  # every call from here on is the storm's
            hook = server.url + "/hooks/alerts/alertmanager"
            prober = Prober(server, slack)
            start = time.perf_counter() + 0.5
            prober.begin(start)
            say(f"{database} · {case} · {code}: {storm.alerts} alerts in {len(storm.bodies)} POSTs")
            answers = _send(storm, hook, start)
            result.sent_s = round(max(a[0] for a in answers) - start, 3)
            result.answers_ms = [round(a[1], 2) for a in answers]
            result.not_ok_posts = sum(1 for a in answers if a[2] != 200)
            result.paged = sum(a[3] for a in answers)
            deadline = time.monotonic() + DRAIN_TIMEOUT_S
            while (queued := _pending(server)) > 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            result.drained_s = round(time.perf_counter() - start, 3)
            result.left_queued = queued
            time.sleep(1.0)  # /line status a second past the last message, too
            result.probes = prober.end()
            calls = slack.calls()
            result.calls = dict(Counter(_kind(c.method, c.params) for c in calls))
            result.here = sum("<!here>" in json.dumps(c.params) for c in calls)
            result.pages = _pages(url)
        except BaseException:
            say(f"{database} · {case} · {code}: failed; the end of the server's log:")
            say("\n".join(server.log().splitlines()[-30:]))
            raise
        finally:
            server.stop(graceful=pythonpath is None)  # an older Andon may not stop cleanly
        result.log_errors = complaints(server.log())
    return result


def _send(storm: Plan, hook: str, start: float) -> list[tuple[float, float, int, int]]:
    """Every POST at its time from 16 senders; per POST: answered at, took ms, status, paged."""
    done: list[tuple[float, float, int, int]] = []
    lock = threading.Lock()
    numbers = itertools.count()

    def sender() -> None:
        with requests.Session() as session:
            while (n := next(numbers)) < len(storm.bodies):
                wait = start + storm.schedule[n] - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                left = time.perf_counter()
                try:
                    answer = session.post(
                        hook, data=storm.bodies[n], headers=BEARER, timeout=POST_TIMEOUT_S
                    )
                    status = answer.status_code
                    paged = int(answer.json().get("paged", 0)) if status == 200 else 0
                except (requests.RequestException, ValueError):
                    status, paged = 0, 0
                answered = time.perf_counter()
                with lock:
                    done.append((answered, (answered - left) * 1000, status, paged))

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done


# --- every case -------------------------------------------------------------------------------


def run_all(
    *,
    cases: list[str],
    databases: list[str],
    scratch: Path,
    baseline: str | None,
    baseline_name: str,
    pg_url: Any,
) -> list[Result]:
    """Every case on every database, the baseline first, then this checkout.

    ``pg_url(name)`` makes a fresh PostgreSQL database (or returns None: skipped)."""
    results = []
    codes = [(f"baseline ({baseline_name})", baseline)] if baseline else []
    codes.append(("this checkout", None))
    for case in cases:
        for database in databases:
            for code, path in codes:
                tag = f"{case}-{database}-{'base' if path else 'this'}"
                if database == "sqlite":
                    url = f"sqlite:///{scratch / tag / 'andon.db'}"
                else:
                    url = pg_url(tag.replace("-", "_"))
                    if url is None:
                        results.append(Result(case, database, code, skipped="no PostgreSQL"))
                        continue
                results.append(
                    run_case(
                        case,
                        database=database,
                        url=url,
                        workdir=scratch / tag,
                        code=code,
                        pythonpath=path,
                    )
                )
    return results


def with_postgres(
    *,
    cases: list[str],
    databases: list[str],
    scratch: Path,
    baseline: str | None,
    baseline_name: str,
) -> list[Result]:
    """``run_all``, with a throwaway PostgreSQL cluster when PostgreSQL is asked for."""

    def run(pg_url: Any) -> list[Result]:
        return run_all(
            cases=cases,
            databases=databases,
            scratch=scratch,
            baseline=baseline,
            baseline_name=baseline_name,
            pg_url=pg_url,
        )

    if "postgresql" not in databases:
        return run(lambda _tag: None)
    with postgres_cluster(say) as (cluster, _why):
        return run(lambda tag: cluster.create_database(tag) if cluster is not None else None)
