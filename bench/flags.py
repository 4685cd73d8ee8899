"""How fast Andon evaluates feature flags over OFREP, against ``GET /healthz`` in the same run.

The script starts the real ``andon serve`` on SQLite with ``ANDON_FLAGS_TOKEN`` set and 100 flags
at various percentages, then times with ``time.perf_counter`` around each POST, at the same
number of concurrent clients (50 by default), the phases taking turns round after round (in
the orders of a balanced Latin square, so each phase follows each other one as often) so that
drift on the machine hits each alike:

- ``GET /healthz``: the baseline — HTTP, FastAPI and a ``SELECT 1``;
- ``POST /ofrep/v1/evaluate/flags/{key}``: one flag, a different targeting key each time;
- ``POST /ofrep/v1/evaluate/flags``: all 100 flags for one context;
- the same bulk request with ``If-None-Match`` naming the current ETag: the ``304`` path.

Targets, as p99 over the baseline's p99: single ≤ 1.3×, bulk ≤ 2×, 304 ≤ 1.1×. Only loopback
traffic, a bounded number of requests. Progress goes to stderr; the Markdown for
``bench/README.md`` (or ``--json``) goes to stdout; exit 1 when a target is missed.

    .venv/bin/python bench/flags.py [--json] [--clients 50] [--each 10] [--rounds 8]
"""

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from clients import Request, Sample, concurrent, healthz_request
from common import (
    TIMEOUT_S,
    balanced,
    complaints,
    cpu_cell,
    cpu_clock,
    load_average,
    log_tail,
    machine,
    machine_table,
    progress,
    sample_json,
)

from storage.database import Database
from storage.tables import Flag, FlagRollout
from tests.fakes.slack import FakeSlack
from tests.harness import AndonServer, upgraded

FLAGS = 100
TOKEN = "bench-flags-token"
TARGETS = {"single": 1.3, "bulk": 2.0, "not modified": 1.1}  # × the baseline's p99
say = progress("flags")


def seed(url: str) -> None:
    """100 flags, their percentages spread from 0 to 100, written before the server starts."""
    database = Database(upgraded(url))
    at = datetime.now(UTC)
    with database.writing() as session:
        for n in range(FLAGS):
            flag = Flag(
                key=f"flag-{n:03d}",
                description="bench",
                created_at=at,
                created_by="bench",
                created_by_name="bench",
                created_via="cli",
            )
            session.add(flag)
            session.flush()
            assert flag.id is not None
            session.add(
                FlagRollout(
                    flag_id=flag.id,
                    environment="production",
                    percentage=n % 101,
                    changed_at=at,
                    changed_by="bench",
                    changed_by_name="bench",
                    changed_via="cli",
                )
            )
    database.dispose()


def _post(url: str, body: dict[str, Any], headers: dict[str, str], want: int) -> Request:
    def send(session: requests.Session, n: int) -> tuple[float, int, bool]:
        started = time.perf_counter()
        answer = session.post(url, json=body, headers=headers, timeout=TIMEOUT_S)
        took = time.perf_counter() - started
        return took, answer.status_code, answer.status_code == want

    return send


def single_request(server: AndonServer) -> Request:
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def send(session: requests.Session, n: int) -> tuple[float, int, bool]:
        url = f"{server.url}/ofrep/v1/evaluate/flags/flag-{n % FLAGS:03d}"
        body = {"context": {"targetingKey": f"user-{n}"}}
        return _post(url, body, auth, 200)(session, n)

    return send


def requests_for(server: AndonServer) -> dict[str, Request]:
    """Each phase's request; the 304 path's ETag read once, before the timing starts."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    bulk_url = f"{server.url}/ofrep/v1/evaluate/flags"
    body = {"context": {"targetingKey": "user-1"}}
    first = requests.post(bulk_url, json=body, headers=auth, timeout=TIMEOUT_S)
    assert first.status_code == 200 and len(first.json()["flags"]) == FLAGS, first.text
    matched = {**auth, "If-None-Match": first.headers["ETag"]}
    return {
        "healthz": healthz_request(server),
        "single": single_request(server),
        "bulk": _post(bulk_url, body, auth, 200),
        "not modified": _post(bulk_url, body, matched, 304),
    }


def bench(args: argparse.Namespace, workdir: Path) -> tuple[dict[str, Sample], list[str]]:
    url = f"sqlite:///{workdir / 'andon.db'}"
    seed(url)
    with FakeSlack() as slack:  # Slack configured, as in production: the log stays quiet
        return _bench(args, workdir, url, slack)


def _bench(
    args: argparse.Namespace, workdir: Path, url: str, slack: FakeSlack
) -> tuple[dict[str, Sample], list[str]]:
    server = AndonServer(workdir, database_url=url, slack=slack)
    server.env["ANDON_FLAGS_TOKEN"] = TOKEN
    merged: dict[str, Sample] = {}
    try:
        say("starting andon serve")
        server.start()
        sends = requests_for(server)
        cpu = cpu_clock(server.process.pid, None)
        for send in sends.values():
            concurrent("sqlite", "warm-up", send, args.clients, 2, server.url, cpu)
        for r in range(args.rounds):
            for name in balanced(tuple(sends), r):
                say(f"round {r + 1}: {name}, {args.clients} clients × {args.each}")
                sample = concurrent(
                    "sqlite", name, sends[name], args.clients, args.each, server.url, cpu
                )
                if name in merged:
                    merged[name].merge(sample)
                    merged[name].wall_s += sample.wall_s
                    merged[name].cpu_s = {
                        k: merged[name].cpu_s[k] + sample.cpu_s[k] for k in sample.cpu_s
                    }
                else:
                    merged[name] = sample
    except BaseException:
        say("failed; the end of the server's log:\n" + log_tail(server, 30))
        raise
    finally:
        server.stop()
    return merged, complaints(server.log())


def markdown(samples: dict[str, Sample], box: dict[str, str], args: argparse.Namespace) -> str:
    labels = {
        "healthz": "`GET /healthz` (baseline)",
        "single": "OFREP one flag",
        "bulk": f"OFREP bulk, {FLAGS} flags",
        "not modified": "OFREP bulk, `If-None-Match` → 304",
    }
    out = machine_table(box)
    out += [
        "",
        f"**Load**: {args.clients} concurrent clients × {args.each} requests, {args.rounds} "
        "rounds, the four phases taking turns; client and server on one machine over loopback.",
        "",
        "| request | requests | not ok | p50 ms | p99 ms | max ms | req/s | CPU ms | p99 ÷ "
        "baseline | target |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    base = samples["healthz"].percentile_ms(99)
    for name, sample in samples.items():
        s = sample.summary()
        ratio = sample.percentile_ms(99) / base
        target = TARGETS.get(name)
        judged = f"≤ {target}× — {'met' if ratio <= target else 'MISSED'}" if target else "–"
        out.append(
            f"| {labels[name]} | {s['requests']} | {s['not_ok']} | {s['p50_ms']:.1f} | "
            f"{s['p99_ms']:.1f} | {s['max_ms']:.1f} | {s['requests_per_s']:.0f} | "
            f"{cpu_cell(s)} | {ratio:.2f} | {judged} |"
        )
    return "\n".join(out)


def missed(samples: dict[str, Sample]) -> list[str]:
    base = samples["healthz"].percentile_ms(99)
    found = [
        f"{name}: p99 {samples[name].percentile_ms(99) / base:.2f}× the baseline (target {t}×)"
        for name, t in TARGETS.items()
        if samples[name].percentile_ms(99) / base > t
    ]
    return found + [
        f"{n}: {s.wrong + s.failed} not ok" for n, s in samples.items() if s.wrong or s.failed
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", action="store_true", help="print raw figures as JSON")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--each", type=int, default=10, help="requests per client per round")
    parser.add_argument(
        "--rounds", type=int, default=8, help="rounds of the four phases (a multiple of 4)"
    )
    args = parser.parse_args(argv)
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="andon-bench-flags-") as scratch:
        samples, logged = bench(args, Path(scratch))
    box = machine("not used", load_before)
    for entry in logged:
        say(f"the server logged:\n{entry}")
    if args.json:
        figures = {name: sample_json(s) for name, s in samples.items()}
        print(json.dumps({"machine": box, "settings": vars(args), "samples": figures}, indent=2))
    else:
        print(markdown(samples, box, args))
    problems = missed(samples) + [f"the server logged: {e.splitlines()[0]}" for e in logged]
    for problem in problems:
        say(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
