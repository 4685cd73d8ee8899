"""An alert storm: 2,000 Alertmanager alerts over 50 fingerprints in 10 groups in 10 s must open
10 pages, one per group — and two storms that once flooded Slack must cost a few dozen calls.

The script starts the real ``andon serve`` (with the fake Slack Web API, which this script stamps
with each call's arrival time) on SQLite, then on PostgreSQL, with ``[oncall] rotation`` and
``[slack] channel`` configured, and POSTs Alertmanager webhooks (version 4, shaped like
``tests/fixtures/alertmanager/firing.json``; ``Authorization: Bearer <secret>``, as Alertmanager's
``http_config`` sends it) to ``/hooks/alerts/alertmanager`` over loopback:

- **the storm**: 50 fingerprints in 10 alert groups (one ``alertname`` each, 5 instances), all
  firing from the start (``--onset`` spreads their start instead). Every POST carries one group as
  Alertmanager sends it — every alert of the group firing by then, so a group's first POST already
  holds all of it, as ``group_wait`` batches them — and Alertmanager re-sends groups, so the same
  fingerprint arrives again and again. POSTs are paced so that 2,000 alerts go out at a steady
  200 alerts/s, all within 10 s, each POST leaving at its scheduled time from whichever of 16
  concurrent senders is free (open loop), the groups taken in turn;
- **the baselines**, the same number of requests on the same schedule from the same senders, in
  the same run: ``GET /healthz`` before the storm (HTTP, FastAPI and a ``SELECT 1``), and after it
  **the storm again**, byte for byte: every alert is then already open, so Andon only finds its
  page and notes that it fired again — the pure dedup path. ``storm − replay`` is what opening
  pages adds to a webhook's answer.

Measured: the webhook's answer time; for each group, the time from its first POST leaving to
its page's DM (``chat.postMessage`` to the on-call person's ``D…`` channel) reaching the fake
Slack; and CPU per request. Checked afterwards (the script exits 1 otherwise): exactly 10 pages
(``GET /api/pages``), one per group, each listing its 5 alerts (every fingerprint on exactly one
page) and paging the person on call; exactly 10 page DMs, one per group; the answers' ``paged``
add up to 10, and the replay pages nothing. Every page stops the line: the first opens the
stoppage, the 9 others add their cause to it.

Then the storms of ``bench/storms.py`` (``--cases``): 2,000 fingerprints in one POST, and 10,000
alerts over 60 s, each against this checkout and, with ``--baseline <checkout>``, against an older
one in the same run: Slack calls, and ``/line status`` answered during the storm.

``--slack-latency 50`` makes the fake Slack take 50 ms per call, as a what-if (the fake answers
at once; Slack does not). Only loopback traffic, a bounded number of requests; it stops by itself
(in about 90 s; with ``--quick``, a 500-alert storm in 2.5 s, about 40 s). Progress goes to
stderr; the Markdown for ``bench/README.md`` (or ``--json``) goes to stdout.

    .venv/bin/python bench/alerts.py [--json] [--quick] [--databases sqlite,postgresql]
"""

import argparse
import copy
import hashlib
import itertools
import json
import math
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests
from clients import Sample, answer_json
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
    server_log,
    skipped_row,
    spent,
    sqlite_machine,
    unmet,
    verdict,
    wanted_databases,
)
from storm_report import as_json as storms_json
from storm_report import markdown as storms_markdown
from storm_report import problems as storm_problems
from storm_runs import BEARER, CASES, CONFIG, FIXTURE, ROTATION, Result, with_postgres

from tests.fakes.slack import Call, FakeSlack
from tests.harness import API_TOKEN, CHANNEL, AndonServer

TARGET_DM_P99_S = 1.0
ALERTNAMES = (
    "InstanceDown",
    "HighRequestLatency",
    "HTTP5xxRateHigh",
    "NodeMemoryPressure",
    "DiskIOSaturated",
    "PostgresReplicationLag",
    "QueueBacklogGrowing",
    "KubePodCrashLooping",
    "ErrorBudgetBurn",
    "UpstreamTimeouts",
)
PHASES = ("healthz", "storm", "replay")
LABELS = {
    "healthz": "`GET /healthz` (baseline)",
    "storm": "**the storm: alerts paged**",
    "replay": "the storm again, every alert open (dedup baseline)",
}


say = progress("alerts")


# --- the fake Slack, with arrival times -----------------------------------------------------


class TimedSlack(FakeSlack):
    """The fake Slack, noting when each call arrived (``time.perf_counter``, this process)."""

    def __init__(self, latency_s: float = 0.0) -> None:
        super().__init__()
        self.arrived: list[tuple[float, Call]] = []
        self.latency_s = latency_s
        self._stamps = threading.Lock()

    def _record(self, call: Call) -> None:
        at = time.perf_counter()
        with self._stamps:
            self.arrived.append((at, call))
        super()._record(call)

    def _answer(self, method: str, params: dict[str, Any], auth: str) -> tuple[int, dict, dict]:
        if self.latency_s:  # a what-if: Slack's own time per call, which the fake does not take
            time.sleep(self.latency_s)
        return super()._answer(method, params, auth)

    def forget(self) -> None:
        with self._stamps:
            self.arrived.clear()
        super().forget()

    def posts(self) -> list[tuple[float, dict[str, Any]]]:
        with self._stamps:
            return [(at, c.params) for at, c in self.arrived if c.method == "chat.postMessage"]


def _dm_channel(user: str) -> str:
    return "D" + user[1:]  # the fake opens ``D…`` for ``U…``


def page_dms(slack: TimedSlack) -> list[tuple[float, dict[str, Any]]]:
    """The pages in the on-call people's DMs (a handoff note is not a page)."""
    dms = {_dm_channel(user) for user in ROTATION}
    return [
        (at, p)
        for at, p in slack.posts()
        if p.get("channel") in dms and not p.get("text", "").startswith("You are on call")
    ]


# --- the storm ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fingerprint:
    index: int
    group: int
    alertname: str
    instance: str
    fingerprint: str
    summary: str
    starts_s: float  # when, after the storm's start, it begins to be sent


@dataclass(frozen=True)
class Post:
    at_s: float  # scheduled, after the phase's start
    group: int
    fingerprints: tuple[int, ...]
    body: bytes


def fingerprints(count: int, groups: int, onset_s: float) -> list[Fingerprint]:
    found = []
    for k in range(count):
        group = k % groups
        alertname = ALERTNAMES[group % len(ALERTNAMES)] + (f"{group}" if group >= 10 else "")
        instance = f"node-{k:03d}:9100"
        labels = f"alertname={alertname},instance={instance}"
        found.append(
            Fingerprint(
                index=k,
                group=group,
                alertname=alertname,
                instance=instance,
                fingerprint=hashlib.sha256(labels.encode()).hexdigest()[:16],
                summary=f"{alertname} firing on {instance}",
                starts_s=onset_s * k / count,
            )
        )
    return found


def group_body(fixture: dict[str, Any], group: list[Fingerprint], status: str = "firing") -> bytes:
    """One Alertmanager delivery of ``group``, built on the fixture's shape."""
    alerts = []
    for fp in group:
        alert = copy.deepcopy(fixture["alerts"][0])
        alert["labels"] = {
            "job": "node",
            "group": "production",
            "instance": fp.instance,
            "severity": "critical",
            "alertname": fp.alertname,
        }
        alert["annotations"] = {
            "title": fp.summary,
            "description": f"{fp.instance} of job node: {fp.alertname} for more than 1 minute.",
        }
        alert["fingerprint"], alert["status"] = fp.fingerprint, status
        alert["generatorURL"] = f"http://prometheus:9090/graph?g0.expr={fp.alertname}"
        alerts.append(alert)
    alertname = group[0].alertname
    body = {
        **fixture,
        "alerts": alerts,
        "status": status,
        "receiver": "andon",
        "groupKey": f'{{}}:{{alertname="{alertname}"}}',
        "groupLabels": {"alertname": alertname},
        "commonLabels": {"job": "node", "severity": "critical", "alertname": alertname},
        "numFiring": len(alerts) if status == "firing" else 0,
        "numResolved": 0 if status == "firing" else len(alerts),
        "externalURL": "http://alertmanager:9093",
    }
    return json.dumps(body).encode()


def storm_plan(args: argparse.Namespace) -> tuple[list[Fingerprint], list[Post]]:
    """POSTs of one group each, the groups in turn, paced to a steady rate of alerts."""
    fixture = json.loads(FIXTURE.read_text())
    fps = fingerprints(args.fingerprints, args.groups, args.onset)
    posts: list[Post] = []
    sent, turn = 0, 0
    while sent < args.alerts:
        at = args.seconds * sent / args.alerts
        firing: list[Fingerprint] = []
        for step in range(args.groups):  # the next group with an alert firing by now
            group = (turn + step) % args.groups
            firing = [f for f in fps if f.group == group and f.starts_s <= at]
            if firing:
                break
        turn = group + 1
        firing = firing[: args.alerts - sent]
        body = group_body(fixture, firing)
        posts.append(Post(at, group, tuple(f.index for f in firing), body))
        sent += len(firing)
    missing = {f.index for f in fps} - {k for p in posts for k in p.fingerprints}
    if missing:
        raise SystemExit(f"the plan never sends fingerprints {sorted(missing)}: lower --onset")
    return fps, posts


def warmup_bodies(count: int) -> list[bytes]:
    """Resolutions of alerts that never fired: authenticated, read, audited, nothing paged."""
    fixture = json.loads(FIXTURE.read_text())
    fps = [
        Fingerprint(k, 0, "BenchWarmUp", f"warm-{k:03d}:9100", f"warm{k:012d}", "warm-up", 0.0)
        for k in range(count)
    ]
    return [group_body(fixture, [fp], status="resolved") for fp in fps]


# --- an open-loop phase ---------------------------------------------------------------------


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
                due = phase.start + schedule[n]
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                left = time.perf_counter()
                try:
                    answer = send(session, n)
                except requests.RequestException as failed:
                    phase.shots[n] = Shot(
                        due, left, time.perf_counter(), 0, False, {"error": f"{failed}"}
                    )
                    continue
                answered = time.perf_counter()
                ok, got = judge(n, answer)
                phase.shots[n] = Shot(due, left, answered, answer.status_code, ok, got)

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


# --- the figures and the checks of one database ---------------------------------------------


@dataclass
class Delivery:
    """One group: its first POST, that POST's answer, and its page's DM at Slack (s)."""

    alertname: str
    fingerprints: int
    first_post_s: float  # after the storm's start
    first_answer_ms: float
    dm_after_ms: float  # first POST leaving → DM at Slack; nan if none
    dms: int


@dataclass
class Checks:
    pages: int = 0
    pages_by_fingerprint: dict[str, int] = field(default_factory=dict)
    pages_by_group: dict[str, int] = field(default_factory=dict)
    page_dms: int = 0
    oncall: list[str] = field(default_factory=list)
    answered_paged: int = 0
    replay_paged: int = 0
    replay_unchanged: int = 0
    line_state: str = ""
    stoppages: int = 0
    causes: int = 0
    announcements: int = 0
    cause_replies: int = 0
    announced_after_ms: float = math.nan
    problems: list[str] = field(default_factory=list)


@dataclass
class Run:
    database: str
    phases: dict[str, Phase] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    dm_span_s: tuple[float, float] = (math.nan, math.nan)  # first, last DM after the start
    messages: tuple[int, float, float] = (0, math.nan, math.nan)  # every post: count, first, last
    checks: Checks | None = None
    log_errors: list[str] = field(default_factory=list)
    skipped: str | None = None


def deliveries(
    storm: Phase, posts: list[Post], fps: list[Fingerprint], slack: TimedSlack
) -> list[Delivery]:
    """Per group (one page each): its first POST, and its page's DM."""
    first: dict[int, Shot] = {}
    for post, shot in zip(posts, storm.shots, strict=True):
        if shot is not None and (post.group not in first or shot.left < first[post.group].left):
            first[post.group] = shot
    names = {fp.group: fp.alertname for fp in fps}
    dms: dict[int, list[float]] = {}
    for at, params in page_dms(slack):
        text = params.get("text", "")
        for group, name in names.items():
            if text.startswith(f"{name} (critical) — page #"):
                dms.setdefault(group, []).append(at)
    found = []
    for group, name in sorted(names.items()):
        shot = first[group]
        arrived = min(dms.get(group, [math.nan]))
        found.append(
            Delivery(
                alertname=name,
                fingerprints=sum(fp.group == group for fp in fps),
                first_post_s=round(shot.left - storm.start, 4),
                first_answer_ms=round((shot.answered - shot.left) * 1000, 2),
                dm_after_ms=round((arrived - shot.left) * 1000, 2),
                dms=len(dms.get(group, [])),
            )
        )
    return found


def check(
    server: AndonServer,
    slack: TimedSlack,
    run: Run,
    fps: list[Fingerprint],
    posts: list[Post],
) -> Checks:
    c = Checks()
    pages = server.api("/api/pages?limit=500", token=API_TOKEN).json()["pages"]
    count_pages(c, pages, fps)
    c.page_dms = len(page_dms(slack))
    storm, replay = run.phases["storm"], run.phases["replay"]
    c.answered_paged = sum(int(s.answer.get("paged", 0)) for s in storm.done())
    c.replay_paged = sum(int(s.answer.get("paged", 0)) for s in replay.done())
    c.replay_unchanged = sum(int(s.answer.get("unchanged", 0)) for s in replay.done())
    line = server.api("/api/line", token=API_TOKEN).json()
    c.line_state = line["state"]
    stoppage = line["stoppage"] or {}
    c.causes = len(stoppage.get("causes", []))
    c.stoppages = len({p["stoppage_id"] for p in pages if p["stoppage_id"] is not None})
    count_channel(c, slack, storm)
    c.problems = unmet(page_expectations(c, run, pages, fps, posts))
    return c


def count_pages(c: Checks, pages: list[dict[str, Any]], fps: list[Fingerprint]) -> None:
    """The pages by fingerprint and by group, and whom they paged."""
    c.pages = len(pages)
    on_pages = Counter(a["identity"] for p in pages for a in p.get("alerts", []))
    c.pages_by_fingerprint = {
        fp.fingerprint: on_pages.get(f"alertmanager:{fp.fingerprint}", 0) for fp in fps
    }
    by_name = Counter(p["name"] for p in pages)
    c.pages_by_group = {fp.alertname: by_name.get(fp.alertname, 0) for fp in fps}
    c.oncall = sorted({str(p["oncall"]) for p in pages})


def count_channel(c: Checks, slack: TimedSlack, storm: Phase) -> None:
    """The line-stopped announcement and the cause replies in the channel, and when."""
    channel = [(at, p) for at, p in slack.posts() if p.get("channel") == CHANNEL]
    c.announcements = sum(p.get("text", "").startswith("Line stopped by") for _, p in channel)
    c.cause_replies = sum(
        "added a cause" in p.get("text", "") or " more causes" in p.get("text", "")
        for _, p in channel
    )
    announced = [at for at, p in channel if p.get("text", "").startswith("Line stopped by")]
    if announced:
        c.announced_after_ms = round((announced[0] - min(s.left for s in storm.done())) * 1000, 2)


def page_expectations(
    c: Checks, run: Run, pages: list[dict[str, Any]], fps: list[Fingerprint], posts: list[Post]
) -> dict[str, tuple[Any, Any]]:
    storm, replay = run.phases["storm"], run.phases["replay"]
    n, alerts = len({fp.group for fp in fps}), sum(len(p.fingerprints) for p in posts)
    return {
        "pages (GET /api/pages)": (c.pages, n),
        "page DMs at the fake Slack": (c.page_dms, n),
        "groups with exactly one page": (sum(v == 1 for v in c.pages_by_group.values()), n),
        "fingerprints on exactly one page": (
            sum(v == 1 for v in c.pages_by_fingerprint.values()),
            len(fps),
        ),
        "groups with exactly one DM": (sum(d.dms == 1 for d in run.deliveries), n),
        "pages paging someone of the rotation": (
            sum(p["oncall"] in ROTATION for p in pages),
            c.pages,
        ),
        "pages opened, by the answers' `paged`": (c.answered_paged, n),
        "storm answers 200 with every alert counted": (
            sum(s.ok for s in storm.done()),
            len(posts),
        ),
        "replay answers 200 with every alert counted": (
            sum(s.ok for s in replay.done()),
            len(posts),
        ),
        "pages opened by the replay": (c.replay_paged, 0),
        "alerts unchanged in the replay": (c.replay_unchanged, alerts),
        "line": (c.line_state, "stopped"),
        "stoppages the pages stopped": (c.stoppages, 1),
        "causes on the open stoppage": (c.causes, n),
    }


@dataclass
class Storm:
    """What every phase of one database sends: the schedule, the bodies, alerts per body."""

    fps: list[Fingerprint]
    posts: list[Post]
    schedule: list[float] = field(init=False)
    bodies: list[bytes] = field(init=False)
    counts: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.schedule = [p.at_s for p in self.posts]
        self.bodies = [p.body for p in self.posts]
        self.counts = [len(p.fingerprints) for p in self.posts]


def bench(
    database: str,
    url: str,
    workdir: Path,
    args: argparse.Namespace,
    fps: list[Fingerprint],
    posts: list[Post],
    postmaster: int | None = None,
) -> Run:
    run = Run(database)
    storm = Storm(fps, posts)
    with TimedSlack(args.slack_latency / 1000) as slack:
        server = AndonServer(workdir, database_url=url, slack=slack, config=CONFIG)
        try:
            say(f"{database}: starting andon serve")
            server.start()
            cpu = cpu_clock(server.process.pid, postmaster)
            warm_up(database, server.url, args.warmup, cpu)
            # The scheduler's first tick (5 s after the start) tells the person on call so by
            # DM; waiting for it keeps that note out of the storm's DM lane.
            slack.wait_for(
                "chat.postMessage",
                lambda p: p.get("text", "").startswith("You are on call"),
                timeout=15,
            )
            slack.forget()
            phases(run, storm, server, slack, args, cpu)
        except BaseException:
            say(f"{database}: failed; the end of the server's log:\n" + log_tail(server, 30))
            raise
        finally:
            server.stop()
        run.log_errors = complaints(server.log())
        for entry in run.log_errors:
            say(f"{database}: the server logged:\n{entry}")
    for phase in run.phases.values():
        s = phase.sample()
        if s.wrong or s.failed:
            say(f"{database}: {phase.name}: {s.summary()['statuses']}")
    return run


def warm_up(database: str, url: str, count: int, cpu: Clock) -> None:
    say(f"{database}: warm-up")
    hook = url + "/hooks/alerts/alertmanager"
    warm = warmup_bodies(count)
    for name, send, judge in (
        ("warm-up", healthz_sender(url), healthz_judge),
        ("warm-up", alert_sender(hook, warm), alert_judge([1] * len(warm))),
    ):
        times = [i * 0.005 for i in range(len(warm))]
        fire(Phase(database, name, 0, len(warm)), times, send, judge, 4, url, cpu)


def phases(
    run: Run,
    storm: Storm,
    server: AndonServer,
    slack: TimedSlack,
    args: argparse.Namespace,
    cpu: Clock,
) -> None:
    """The baseline, the storm and its DMs, the storm again; then the checks."""
    database, url, posts = run.database, server.url, storm.posts
    alerts = sum(storm.counts)
    hook = url + "/hooks/alerts/alertmanager"

    def timed(name: str, alerts: int, send: Send, judge: Judge) -> Phase:
        phase = Phase(database, name, alerts, len(posts))
        return fire(phase, storm.schedule, send, judge, args.senders, url, cpu)

    say(f"{database}: baseline, {len(posts)} × GET /healthz on the storm's schedule")
    run.phases["healthz"] = timed("healthz", 0, healthz_sender(url), healthz_judge)
    say(
        f"{database}: the storm, {alerts} alerts over {len(storm.fps)} fingerprints in "
        f"{len(posts)} POSTs within {args.seconds:g} s"
    )
    stormed = timed("storm", alerts, alert_sender(hook, storm.bodies), alert_judge(storm.counts))
    run.phases["storm"] = stormed
    wait_for_dms(run, storm, slack, args)
    say(f"{database}: the storm again, every alert open (the dedup baseline)")
    run.phases["replay"] = timed(
        "replay", alerts, alert_sender(hook, storm.bodies), alert_judge(storm.counts)
    )
    time.sleep(args.settle)  # a DM of a doubled page would come now: let it
    run.checks = check(server, slack, run, storm.fps, posts)
    posted = [at - stormed.start for at, _ in slack.posts()]
    if posted:
        run.messages = (len(posted), round(min(posted), 3), round(max(posted), 3))


def wait_for_dms(run: Run, storm: Storm, slack: TimedSlack, args: argparse.Namespace) -> None:
    """The pages' DMs, one per group, and when each arrived after its group's first POST."""
    stormed = run.phases["storm"]
    try:
        slack.wait_for(
            "chat.postMessage",
            lambda p: p.get("channel", "").startswith("D"),
            count=args.groups,
            timeout=args.dm_timeout,
        )
    except AssertionError:
        say(f"{run.database}: fewer than {len(storm.fps)} DMs after {args.dm_timeout:g} s")
    run.deliveries = deliveries(stormed, storm.posts, storm.fps, slack)
    arrived = [at - stormed.start for at, _ in page_dms(slack)]
    if arrived:
        run.dm_span_s = (round(min(arrived), 3), round(max(arrived), 3))


# --- the report -----------------------------------------------------------------------------


def _slowest_if_missing(values: list[float], p: float) -> float:
    """Nearest rank, as the other benchmarks; of 10 values, p99 is the largest."""
    if any(math.isnan(v) for v in values):
        return math.inf  # a DM that never came is slower than any
    return percentile(values, p)


def dm_figures(run: Run) -> dict[str, float]:
    after = [d.dm_after_ms for d in run.deliveries]
    answer = [d.first_answer_ms for d in run.deliveries]
    courier = [round(d.dm_after_ms - d.first_answer_ms, 2) for d in run.deliveries]
    return {
        "p50_ms": _slowest_if_missing(after, 50),
        "p95_ms": _slowest_if_missing(after, 95),
        "p99_ms": _slowest_if_missing(after, 99),
        "max_ms": max(after) if after and not any(math.isnan(a) for a in after) else math.inf,
        "answer_p50_ms": _slowest_if_missing(answer, 50),
        "answer_max_ms": _slowest_if_missing(answer, 100),
        "after_answer_p50_ms": _slowest_if_missing(courier, 50),
        "after_answer_max_ms": _slowest_if_missing(courier, 100),
    }


def _ms(x: float) -> str:
    return "never" if math.isinf(x) else f"{x:.0f}"


def markdown(
    runs: list[Run],
    box: dict[str, str],
    args: argparse.Namespace,
    posts: list[Post],
) -> str:
    out = machine_table(box)
    out += _load(args, posts)
    out += _answers_table(runs, args)
    out += _added_table(runs, args)
    out += _dm_table(runs, args)
    out += _checked_table(runs)
    out += _targets(runs, args)
    out += server_log(runs)
    return "\n".join(out)


def _load(args: argparse.Namespace, posts: list[Post]) -> list[str]:
    """What was sent, how paced, and the baselines beside it."""
    alerts = sum(len(p.fingerprints) for p in posts)
    sizes = Counter(len(p.fingerprints) for p in posts)
    onset = (
        f"the fingerprints start firing one after the other over the first {args.onset:g} s"
        if args.onset
        else "all fingerprints fire from the start, so every group's first POST carries all its "
        "alerts (as Alertmanager's `group_wait` batches them)"
    )
    return [
        "",
        f"**Load**: {alerts} Alertmanager alerts over {args.fingerprints} fingerprints in "
        f"{args.groups} groups, in {len(posts)} POSTs of one group each "
        f"({', '.join(f'{n}×{size}' for size, n in sorted(sizes.items()))} alerts), paced to "
        f"{alerts / args.seconds:.0f} alerts/s over {args.seconds:g} s from {args.senders} "
        f"concurrent senders (open loop, one `requests.Session` each, each POST leaving at its "
        f"scheduled time); the groups in turn, each POST carrying every alert of its group "
        f"firing by then — {onset}. Client and server on the same machine over loopback; the "
        "fake Slack answers at once"
        + (f" after {args.slack_latency:g} ms per call (a what-if)" if args.slack_latency else "")
        + ". The baselines: the same number of requests on the same schedule from the same "
        "senders, in the same run.",
    ]


def _answers_table(runs: list[Run], args: argparse.Namespace) -> list[str]:
    out = [
        "",
        "**Webhook answers** — time from POST to answer, ms (CPU: per request, of `andon serve` · "
        "of PostgreSQL · of this client)",
        "",
        "| database | request | requests | alerts | not ok | POSTs/s | start lag p99 / max | "
        "p50 | p99 | max | CPU ms | all sent within the window |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for run in runs:
        if run.skipped:
            out.append(skipped_row(run.database, run.skipped, 12))
            continue
        for name in PHASES:
            s = run.phases[name].summary(args.seconds)
            out.append(
                f"| {run.database} | {LABELS[name]} | {s['requests']} | {s['alerts'] or '–'} | "
                f"{s['not_ok']} | {s['sent_per_s']:.0f} | {s['start_lag_p99_ms']:.1f} / "
                f"{s['start_lag_max_ms']:.1f} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | "
                f"{s['max_ms']:.1f} | {cpu_cell(s)} | "
                f"{'yes' if s['sent_in_window'] else 'NO'} ({s['last_left_s']:.2f} s) |"
            )
    return out


def _added_table(runs: list[Run], args: argparse.Namespace) -> list[str]:
    """storm − each baseline: what opening pages adds to a webhook's answer."""
    out = [
        "",
        "**What paging adds to the answer** (storm − baseline, ms)",
        "",
        "| database | p50 − replay | p99 − replay | p50 − healthz | p99 − healthz | "
        "andon CPU − replay |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for run in runs:
        if run.skipped:
            continue
        st, rp, hz = (run.phases[n].summary(args.seconds) for n in ("storm", "replay", "healthz"))
        cpu = st["cpu_ms_per_request"]["andon"] - rp["cpu_ms_per_request"]["andon"]
        out.append(
            f"| {run.database} | {st['p50_ms'] - rp['p50_ms']:+.1f} | "
            f"{st['p99_ms'] - rp['p99_ms']:+.1f} | {st['p50_ms'] - hz['p50_ms']:+.1f} | "
            f"{st['p99_ms'] - hz['p99_ms']:+.1f} | {cpu:+.2f} |"
        )
    return out


def _dm_table(runs: list[Run], args: argparse.Namespace) -> list[str]:
    """From each group's first POST to its page's DM, and the split at the POST's answer."""
    out = [
        "",
        "**From a group's first POST to its page's DM at the fake Slack**, ms (one value per "
        f"group, nearest rank: of {args.groups}, p99 is the largest; the split: the "
        "first POST's own answer, and from that answer to the DM)",
        "",
        "| database | DMs | p50 | p95 | p99 | max | first POST → answer p50 / max | "
        "answer → DM p50 / max | DMs arrived, s after the storm's start | all posts to Slack "
        "(DMs and channel): how many, s after the start | line-stopped announcement |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for run in runs:
        if run.skipped or not run.deliveries:
            continue
        f = dm_figures(run)
        first, last = run.dm_span_s
        count, begun, ended = run.messages
        c = run.checks
        announced = f"{c.announced_after_ms:.0f} ms" if c else "?"
        out.append(
            f"| {run.database} | {sum(d.dms > 0 for d in run.deliveries)}/{len(run.deliveries)} "
            f"| {_ms(f['p50_ms'])} | {_ms(f['p95_ms'])} | {_ms(f['p99_ms'])} | "
            f"{_ms(f['max_ms'])} | {_ms(f['answer_p50_ms'])} / {_ms(f['answer_max_ms'])} | "
            f"{_ms(f['after_answer_p50_ms'])} / {_ms(f['after_answer_max_ms'])} | "
            f"{first:.2f} – {last:.2f} | {count}: {begun:.2f} – {ended:.2f} | {announced} |"
        )
    return out


def _checked_table(runs: list[Run]) -> list[str]:
    out = [
        "",
        "**Checked** (pages from `GET /api/pages`; DMs and channel posts at the fake Slack)",
        "",
        "| database | pages | page DMs | fingerprints on one page / groups with one DM | "
        "paged, by the answers | paged by the replay | on call | line | stoppages / causes | "
        "announcement / cause replies | result |",
        "|---|--:|--:|--:|--:|--:|---|---|--:|--:|---|",
    ]
    for run in runs:
        c = run.checks
        if c is None:
            continue
        one_page = sum(v == 1 for v in c.pages_by_fingerprint.values())
        one_dm = sum(d.dms == 1 for d in run.deliveries)
        out.append(
            f"| {run.database} | {c.pages} | {c.page_dms} | {one_page} / {one_dm} | "
            f"{c.answered_paged} | {c.replay_paged} | {', '.join(c.oncall)} | {c.line_state} | "
            f"{c.stoppages} / {c.causes} | {c.announcements} / {c.cause_replies} | "
            f"{verdict(c.problems)} |"
        )
    return out


def _targets(runs: list[Run], args: argparse.Namespace) -> list[str]:
    out = [
        "",
        f"**Targets**: exactly {args.groups} pages, one per group; p99 from a group's first POST "
        f"to its DM under {TARGET_DM_P99_S:.0f} s.",
        "",
    ]
    for run in runs:
        if run.skipped or run.checks is None:
            continue
        c = run.checks
        met = "met" if c.pages == args.groups == c.page_dms else "MISSED"
        out.append(f"- {run.database}: {c.pages} pages, {c.page_dms} page DMs — {met}")
        p99 = dm_figures(run)["p99_ms"]
        met = "met" if p99 < TARGET_DM_P99_S * 1000 else "MISSED"
        out.append(f"- {run.database}: first POST to DM p99 {_ms(p99)} ms — {met}")
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", action="store_true", help="print raw figures as JSON")
    parser.add_argument("--quick", action="store_true", help="500 alerts in 2.5 s")
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--alerts", type=int, default=2000, help="alerts in the storm")
    parser.add_argument("--fingerprints", type=int, default=50, help="distinct alerts")
    parser.add_argument("--groups", type=int, default=10, help="alert groups (alertnames)")
    parser.add_argument("--seconds", type=float, default=10.0, help="the storm's length")
    parser.add_argument("--onset", type=float, default=0.0, help="s until all fingerprints fire")
    parser.add_argument("--senders", type=int, default=16, help="concurrent senders")
    parser.add_argument("--warmup", type=int, default=40, help="warm-up requests of each kind")
    parser.add_argument("--dm-timeout", type=float, default=30.0, help="s to wait for the DMs")
    parser.add_argument("--settle", type=float, default=1.0, help="s before the last count")
    parser.add_argument(
        "--slack-latency", type=float, default=0.0, help="what-if: ms the fake Slack takes a call"
    )
    parser.add_argument(
        "--storms",
        default=",".join(CASES),
        help="the storms of bench/storms.py to run after (comma-separated; empty: none)",
    )
    parser.add_argument("--baseline", default=None, help="an older checkout, run side by side")
    parser.add_argument("--baseline-name", default="older checkout", help="its commit, say")
    args = parser.parse_args(argv)
    if args.quick:
        args.alerts, args.seconds = 500, 2.5
    return args


def alerts_machine(pg_version: str, load_before: str, where: str) -> dict[str, str]:
    """The machine table, with how this script configures Andon."""
    box = sqlite_machine(pg_version, load_before, where)
    box["Andon"] = (
        f"`[oncall] rotation = {json.dumps(list(ROTATION))}`, `repeat`/`ack_timeout` 5 min; "
        f'`[slack] channel = "{CHANNEL}"`; no `[alerts]` section (no routes, no flap damping; '
        "the default storm limits, 20 new pages a delivery and 60 a minute)"
    )
    return box


def run_json(r: Run, args: argparse.Namespace) -> dict[str, Any]:
    return {
        "database": r.database,
        "skipped": r.skipped,
        "phases": {
            name: {
                **phase.summary(args.seconds),
                "latencies_ms": [round((s.answered - s.left) * 1000, 3) for s in phase.done()],
            }
            for name, phase in r.phases.items()
        },
        "dm": dm_figures(r) if r.deliveries else None,
        "dm_span_s": r.dm_span_s,
        "slack_posts": r.messages,
        "deliveries": [asdict(d) for d in r.deliveries],
        "checks": asdict(r.checks) if r.checks else None,
        "log_errors": r.log_errors,
    }


def raw(
    runs: list[Run],
    stormed: list[Result],
    box: dict[str, str],
    args: argparse.Namespace,
    posts: list[Post],
) -> dict[str, Any]:
    return {
        "machine": box,
        "settings": vars(args),
        "targets": {"pages": args.groups, "dm_p99_s": TARGET_DM_P99_S},
        "posts": len(posts),
        "alerts_per_post": dict(Counter(len(p.fingerprints) for p in posts)),
        "runs": [run_json(r, args) for r in runs],
        "storms": storms_json(stormed),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wanted = wanted_databases(args.databases)
    fps, posts = storm_plan(args)
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="andon-bench-") as scratch:
        where = filesystem(scratch)
        runs, pg_version = each_database(
            wanted,
            scratch=Path(scratch),
            run=lambda on: bench(on.name, on.url, on.workdir, args, fps, posts, on.postmaster),
            skip=lambda name, why: Run(name, skipped=why),
            say=say,
            note_data=True,
        )
        stormed = with_postgres(
            cases=[c.strip() for c in args.storms.split(",") if c.strip()],
            databases=wanted,
            scratch=Path(scratch) / "storms",
            baseline=args.baseline,
            baseline_name=args.baseline_name,
        )
    box = alerts_machine(pg_version, load_before, where)
    if args.json:
        print(json.dumps(raw(runs, stormed, box, args, posts), indent=2, default=str))
    else:
        print(markdown(runs, box, args, posts))
        if stormed:
            print("\n" + storms_markdown(stormed))
    return tell(runs, stormed)


def tell(runs: list[Run], stormed: list[Result]) -> int:
    """On stderr, what missed a target (then 1), or the pages each database opened."""
    problems = [(r.database, p) for r in runs if r.checks for p in r.checks.problems]
    problems += [("storms", p) for p in storm_problems(stormed)]
    for database, problem in problems:
        say(f"{database}: {problem}")
    if problems:
        return 1
    for run in runs:
        if run.checks:
            say(f"{run.database}: {run.checks.pages} pages, {run.checks.page_dms} page DMs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
