"""The weekly digest over a year of history must be computed in under 1 s, on SQLite and PostgreSQL.

A year of synthetic history is written straight into a migrated database (the digest only reads,
so how rows got there does not matter): 50,000 deploys (2 % of them failed, and 1,000 rollbacks
among them), 5,000 stoppages with their causes' ``via`` and their five whys (done, scheduled or
missing), 20,000 action items (a fifth of them reasoned "none"; most done, some late), 200,000
CI results over four pipelines, 10,000 pages with their events (paged, acknowledged, now and then
escalated). Rows are spread evenly over the 52 weeks to 2026-11-23, from a fixed random seed.

Measured: ``core.digest.report.build`` for 2026-W47 — every section for the week and the one
before, and the eight weeks' trend — exactly as ``/digest``, ``andon digest`` and the scheduled
post call it, in a fresh session each time, repeated; and the chart drawn from it. **Baseline**,
in the same run on the same rows: the same digest with the indexes migration 0007 added for it
dropped — what the digest would cost on the schema as it stood before.

    .venv/bin/python bench/digest.py [--json] [--quick] [--databases sqlite,postgresql]

``--quick`` writes a tenth of the history. Progress goes to stderr; the Markdown for
``bench/README.md`` (or ``--json``) to stdout. Only loopback; it stops by itself (~2 min).
"""

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from common import (
    load_average,
    machine,
    machine_table,
    postgres_cluster,
    postgres_version,
    progress,
)
from sqlalchemy import insert, text

from bot.render.chart import weekly_chart
from bot.render.chart_view import chart_view
from core.config.file import AndonConfig
from core.digest import report
from core.digest.week import Week
from core.whys.phase import Phase
from storage import migrate
from storage.database import Database
from storage.tables import (
    ActionItem,
    CiResult,
    Deploy,
    Page,
    PageEvent,
    Stoppage,
    Whys,
)

TARGET_S = 1.0
WEEK = Week(2026, 47)
END = WEEK.end  # Monday 2026-11-23 00:00 UTC: the history's last instant
START = END - timedelta(weeks=52)
NOW = END + timedelta(hours=9)  # when the scheduled digest is computed
SIZES = {"deploys": 50_000, "stoppages": 5_000, "items": 20_000, "ci": 200_000, "pages": 10_000}
DIGEST_INDEXES = {
    "action_item": ("ix_action_item_created_at", "ix_action_item_done_at"),
    "ci_result": ("ix_ci_result_received_at",),
    "deploy": ("ix_deploy_finished_at",),
    "page": ("ix_page_opened_at",),
    "page_event": ("ix_page_event_kind_at",),
}
CONFIG = AndonConfig.model_validate(
    {
        "ci": {"budget": "10m"},
        "environments": {
            "staging": {"path": "/srv/app", "hosts": ["local"]},
            "production": {"path": "/srv/app", "hosts": ["local"], "after": "staging"},
        },
        "digest": {"when": "mon 09:00"},
    }
)


say = progress("digest")


# --- a year of history ----------------------------------------------------------------------


def _moment(rng: random.Random) -> datetime:
    return START + timedelta(seconds=rng.uniform(0, (END - START).total_seconds()))


def _sha(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


def deploys(rng: random.Random, count: int) -> list[dict[str, Any]]:
    rows = []
    for n in range(count):
        at = _moment(rng)
        rollback = n % 50 == 0
        rows.append(
            {
                "kind": "rollback" if rollback else "deploy",
                "environment": "production" if n % 3 else "staging",
                "revision": _sha(rng),
                "status": "failed" if rng.random() < 0.02 else "succeeded",
                "requested_at": at,
                "requested_by": "U0DEPLOY",
                "requested_by_name": "deployer",
                "via": "auto",
                "started_at": at,
                "finished_at": at + timedelta(seconds=rng.uniform(20, 300)),
                "migrated": False,
                "committed_at": at - timedelta(minutes=rng.uniform(10, 600)),
            }
        )
    return rows


def stoppages(rng: random.Random, count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows, whys = [], []
    vias = ("ci", "alert", "deploy", "slack", "cli")
    for n in range(1, count + 1):
        at = _moment(rng)
        closed = at + timedelta(minutes=rng.expovariate(1 / 45))
        rows.append(
            {
                "id": n,
                "state": "closed",
                "opened_at": at,
                "opened_by": "andon",
                "opened_by_name": "andon",
                "opened_via": rng.choice(vias),
                "closed_at": closed,
                "closed_by": "U0MARIA",
                "closed_by_name": "maria",
                "closed_via": "slack",
            }
        )
        fate = rng.random()
        whys.append(
            {
                "stoppage_id": n,
                "severity": "minor",
                "severity_from": "default",
                "open_level": (Phase.DONE if fate < 0.7 else Phase.WHY_3).value,
                "scheduled_at": closed + timedelta(days=1) if 0.7 <= fate < 0.9 else None,
                "done_at": closed + timedelta(hours=2) if fate < 0.7 else None,
            }
        )
    return rows, whys


def items(rng: random.Random, count: int, stoppage_count: int) -> list[dict[str, Any]]:
    rows = []
    categories = ("tests/CI", "commit check", "deploy", "alerting", "code & process", None)
    for n in range(count):
        at = _moment(rng)
        status = "none" if n % 5 == 0 else ("done" if rng.random() < 0.7 else "open")
        rows.append(
            {
                "stoppage_id": n // 4 % stoppage_count + 1,
                "level": n % 5 + 1,
                "text": f"investment {n}",
                "status": status,
                "owner": f"U0OWNER{n % 12}",
                "owner_name": f"owner{n % 12}",
                "due": (at + timedelta(days=7)).date(),
                "category": rng.choice(categories),
                "created_by": "U0MARIA",
                "created_at": at,
                "done_at": at + timedelta(days=rng.uniform(1, 14)) if status == "done" else None,
            }
        )
    return rows


def ci_results(rng: random.Random, count: int) -> list[dict[str, Any]]:
    pipelines = (("tests", 600), ("lint", 60), ("e2e", 1500), ("build", 240))
    rows = []
    for n in range(count):
        pipeline, typical = pipelines[n % 4]
        rows.append(
            {
                "received_at": _moment(rng),
                "provider": "generic",
                "revision": _sha(rng),
                "branch": "main",
                "pipeline": pipeline,
                "run_id": str(n),
                "status": "failed" if rng.random() < 0.08 else "passed",
                "duration_s": rng.uniform(0.5, 1.5) * typical,
                "failed_tests": [],
            }
        )
    return rows


def pages(rng: random.Random, count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows, events = [], []
    names = [f"check_{k}" for k in range(40)]
    for n in range(1, count + 1):
        at = _moment(rng)
        acked = at + timedelta(minutes=rng.expovariate(1 / 6))
        name = names[min(int(rng.expovariate(0.15)), len(names) - 1)]  # a few are noisy
        rows.append(
            {
                "id": n,
                "identity": f"generic:{name}:{n}",
                "source": "generic",
                "name": name,
                "summary": f"{name} is off",
                "labels": {},
                "status": "resolved",
                "stops_line": True,
                "opened_at": at,
                "last_fired_at": at,
                "fired": 1,
                "level": 0,
                "acked_at": acked,
                "resolved_at": acked + timedelta(minutes=rng.expovariate(1 / 30)),
                "suspects": [],
            }
        )
        events.append({"page_id": n, "at": at, "kind": "paged", "actor": "generic"})
        if acked - at > timedelta(minutes=5):
            events.append(
                {"page_id": n, "at": at + timedelta(minutes=5), "kind": "escalated", "actor": "a"}
            )
        events.append({"page_id": n, "at": acked, "kind": "acknowledged", "actor": "U0ONE"})
    return rows, events


def fill(database: Database, scale: float) -> dict[str, int]:
    """Write the year; returns how many rows each table got."""
    rng = random.Random(47)
    size = {key: int(value * scale) for key, value in SIZES.items()}
    stop_rows, whys_rows = stoppages(rng, size["stoppages"])
    page_rows, event_rows = pages(rng, size["pages"])
    tables = [
        (Deploy, deploys(rng, size["deploys"])),
        (Stoppage, stop_rows),
        (Whys, whys_rows),
        (ActionItem, items(rng, size["items"], size["stoppages"])),
        (CiResult, ci_results(rng, size["ci"])),
        (Page, page_rows),
        (PageEvent, [{**e, "detail": ""} for e in event_rows]),
    ]
    counts = {}
    with database.writing() as session:
        for model, rows in tables:
            for chunk in range(0, len(rows), 5_000):
                session.execute(insert(model.__table__), rows[chunk : chunk + 5_000])  # type: ignore[attr-defined]
            counts[model.__tablename__] = len(rows)  # type: ignore[attr-defined]
    with database.writing() as session:
        session.execute(text("ANALYZE"))  # the planner sees a year, as a live database's would
    return counts


def drop_digest_indexes(database: Database) -> None:
    with database.writing() as session:
        for names in DIGEST_INDEXES.values():
            for name in names:
                session.execute(text(f"DROP INDEX {name}"))
        session.execute(text("ANALYZE"))


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Timing:
    samples: list[float] = field(default_factory=list)

    def figures(self) -> dict[str, float]:
        ordered = sorted(self.samples)
        return {
            "median_ms": statistics.median(ordered) * 1000,
            "p95_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000,
            "max_ms": ordered[-1] * 1000,
        }


def time_digest(database: Database, repeats: int) -> tuple[Timing, Timing, report.Digest]:
    digest_time, chart_time = Timing(), Timing()
    digest = None
    for _ in range(repeats):
        began = time.perf_counter()
        with database.reading() as session:
            digest = report.build(session, week=WEEK, config=CONFIG, now=NOW)
        digest_time.samples.append(time.perf_counter() - began)
        began = time.perf_counter()
        weekly_chart(chart_view(digest))
        chart_time.samples.append(time.perf_counter() - began)
    assert digest is not None
    return digest_time, chart_time, digest


@contextmanager
def databases(names: list[str]) -> Iterator[list[tuple[str, str, str]]]:
    """(name, url, version) for each database asked for; PostgreSQL is a throwaway cluster."""
    import sqlite3

    folder = Path(tempfile.mkdtemp(prefix="andon-digest-bench-"))
    found = []
    if "sqlite" in names:
        found.append(
            ("sqlite", f"sqlite:///{folder / 'andon.db'}", f"SQLite {sqlite3.sqlite_version}")
        )
    if "postgresql" not in names:
        yield found
        return
    with postgres_cluster(say) as (cluster, why):
        if cluster is None:
            say(f"postgresql skipped: {why}")
            yield found
            return
        found.append(("postgresql", cluster.create_database("digest"), postgres_version(cluster)))
        yield found


def run_one(name: str, url: str, scale: float, repeats: int) -> dict[str, Any]:
    database = Database(url)
    migrate.upgrade(database)
    say(f"{name}: writing a year of history")
    began = time.perf_counter()
    counts = fill(database, scale)
    written_s = time.perf_counter() - began
    say(f"{name}: the digest of {WEEK}, {repeats} times")
    time_digest(database, 2)  # warm the caches the way a running server has them
    indexed, chart, digest = time_digest(database, repeats)
    say(f"{name}: baseline — the same digest without migration 0007's indexes")
    drop_digest_indexes(database)
    time_digest(database, 1)
    bare, _, bare_digest = time_digest(database, max(3, repeats // 4))
    database.dispose()
    assert bare_digest == digest, "the indexes changed an answer"
    return {
        "database": name,
        "rows": counts,
        "write_s": written_s,
        "digest": indexed.figures(),
        "chart": chart.figures(),
        "baseline": bare.figures(),
        "check": {
            "deploys": digest.this.dora.deploys,
            "stoppages": digest.this.line.stoppages,
            "items": digest.this.investments.created,
            "ci_runs": digest.this.ci.runs,
            "pages": digest.this.pages.pages,
        },
    }


# --- the report -------------------------------------------------------------------------------


def markdown(runs: list[dict[str, Any]], box: dict[str, str], repeats: int) -> str:
    out = machine_table(box)
    rows = runs[0]["rows"] if runs else {}
    out += [
        "",
        "**History**: "
        + ", ".join(f"{n:,} {table}" for table, n in rows.items())
        + f" over the 52 weeks to {END:%Y-%m-%d}. The digest of {WEEK} "
        f"(and {WEEK.previous()}, and the 8-week trend), {repeats} times after 2 warm-ups.",
        "",
        f"**Time to compute the digest, ms** (target: under {TARGET_S * 1000:.0f} ms)",
        "",
        "| database | median | p95 | max | baseline: without 0007's indexes (median · max) "
        "| chart (median) | writing the year |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        d, b, c = run["digest"], run["baseline"], run["chart"]
        out.append(
            f"| {run['database']} | {d['median_ms']:.0f} | {d['p95_ms']:.0f} | "
            f"{d['max_ms']:.0f} | {b['median_ms']:.0f} · {b['max_ms']:.0f} | "
            f"{c['median_ms']:.0f} | {run['write_s']:.0f} s |"
        )
    if runs:
        check = runs[0]["check"]
        out += [
            "",
            "**The week's figures** (the same on both databases, with and without indexes): "
            + ", ".join(f"{n:,} {what}" for what, n in check.items()),
        ]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true", help="a tenth of the history")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    scale, repeats = (0.1, 5) if args.quick else (1.0, 20)
    load_before = load_average()
    runs = []
    with databases(args.databases.split(",")) as found:
        versions = {name: version for name, _, version in found}
        for name, url, _ in found:
            runs.append(run_one(name, url, scale, repeats))
    box = machine(versions.get("postgresql", "not run"), load_before)
    if args.json:
        print(json.dumps({"machine": box, "runs": runs}, indent=2, default=str))
    else:
        print(markdown(runs, box, repeats))
    slow = [r["database"] for r in runs if r["digest"]["max_ms"] >= TARGET_S * 1000]
    if slow:
        say(f"over the {TARGET_S:.0f} s target on: {', '.join(slow)}")
        return 1
    if len({json.dumps(r["check"], sort_keys=True) for r in runs}) > 1:
        say("the databases disagree on the week's figures")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
