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
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from alert_checks import Run, TimedSlack, check, deliveries, page_dms
from alert_phases import (
    Judge,
    Phase,
    Send,
    alert_judge,
    alert_sender,
    fire,
    healthz_judge,
    healthz_sender,
)
from alert_report import dm_figures, markdown, target_dm_s
from alert_storm import Fingerprint, Post, Storm, storm_plan, warmup_bodies
from common import (
    Clock,
    complaints,
    cpu_clock,
    each_database,
    filesystem,
    load_average,
    log_tail,
    progress,
    sqlite_machine,
    wanted_databases,
)
from storm_report import as_json as storms_json
from storm_report import markdown as storms_markdown
from storm_report import problems as storm_problems
from storm_runs import CASES, CONFIG, ROTATION, Result, with_postgres

from tests.harness import CHANNEL, AndonServer

say = progress("alerts")


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
        "targets": {"pages": args.groups, "dm_p99_s": target_dm_s(args)},
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
