"""The weekly digest over a year of history must be computed in under 1 s, on SQLite and PostgreSQL.

A year of synthetic history is written straight into a migrated database (the digest only reads,
so how rows got there does not matter): 50,000 deploys (2 % of them failed, and 1,000 rollbacks
among them), 5,000 stoppages with a cause each (a deploy's or a page's often naming the revision
that went out last, a rollback's the revision it left) and their five whys (done, scheduled or
missing), 20,000 action items (a fifth of them reasoned "none"; most done, some late), 200,000
CI results over four pipelines, 10,000 pages with their events (paged, acknowledged, now and then
escalated). Rows are spread evenly over the 52 weeks to 2026-11-23, from a fixed random seed.

Measured: ``core.digest.report.build`` for 2026-W47 — every section for the week and the one
before, and the eight weeks' trend — exactly as ``/digest``, ``andon digest`` and the scheduled
post call it (naming five overdue items and counting the rest), in a fresh session each time,
repeated; the chart drawn from it; and the export (``--format json``, every overdue item).
**Baselines**, in the same run on the same rows: one ``SELECT count(*)`` over the year's
deploys, in a fresh session each time too — the floor a digest computed by SQL aggregates is
held to (issue 22: at most 3× it) — and the same digest with the indexes migrations 0007 and
0037 added for it dropped — what the digest would cost on the schema as it stood before.

    .venv/bin/python bench/digest.py [--json] [--quick] [--databases sqlite,postgresql]

``--quick`` writes a tenth of the history. Progress goes to stderr; the Markdown for
``bench/README.md`` (or ``--json``) to stdout. Only loopback; it stops by itself (~2 min).
"""

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
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
from digest_history import END, START, WEEK, fill
from sqlalchemy import func, select, text

from bot.render.chart import weekly_chart
from bot.render.chart_view import chart_view
from core.config.file import AndonConfig
from core.digest import report
from storage import migrate
from storage.database import Database
from storage.tables import Deploy

TARGET_S = 1.0
TARGET_RATIO = 3.0  # the digest against one count over the year's deploys (issue 22)
NOW = END + timedelta(hours=9)  # when the scheduled digest is computed
DIGEST_INDEXES = {  # what migrations 0007 and 0037 added for the digest
    "action_item": ("ix_action_item_created_at", "ix_action_item_done_at", "ix_action_item_due"),
    "ci_result": ("ix_ci_result_received_at",),
    "deploy": ("ix_deploy_finished_at", "ix_deploy_shipped", "ix_deploy_requested_at"),
    "page": ("ix_page_opened_at",),
    "page_event": ("ix_page_event_kind_at",),
    "stoppage": ("ix_stoppage_closed_at",),
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


def time_export(database: Database, repeats: int) -> Timing:
    """``andon digest --format json``: every overdue item of both weeks listed, not five."""
    timing = Timing()
    for _ in range(repeats):
        began = time.perf_counter()
        with database.reading() as session:
            report.build(session, week=WEEK, config=CONFIG, now=NOW, listed=None)
        timing.samples.append(time.perf_counter() - began)
    return timing


def time_count(database: Database, repeats: int) -> tuple[Timing, int]:
    """The baseline: one aggregate over the year's deploys, in a fresh session like the digest."""
    timing, counted = Timing(), 0
    year = select(func.count()).where(Deploy.finished_at >= START, Deploy.finished_at < END)
    for _ in range(repeats):
        began = time.perf_counter()
        with database.reading() as session:
            counted = int(session.execute(year).scalar_one())
        timing.samples.append(time.perf_counter() - began)
    return timing, counted


def time_beside(database: Database, repeats: int) -> tuple[Timing, Timing, Any, Timing, int]:
    """The digest and its baseline count in turn, so the machine's drift falls on both alike."""
    digest_time, chart_time, count_time = Timing(), Timing(), Timing()
    digest, counted = None, 0
    for _ in range(repeats):
        one, drawn, digest = time_digest(database, 1)
        counts, counted = time_count(database, 3)
        digest_time.samples += one.samples
        chart_time.samples += drawn.samples
        count_time.samples += counts.samples
    return digest_time, chart_time, digest, count_time, counted


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
    time_count(database, 2)
    indexed, chart, digest, count, counted = time_beside(database, repeats)
    export = time_export(database, max(3, repeats // 4))
    say(f"{name}: baseline — the same digest without the indexes of 0007 and 0037")
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
        "count": count.figures(),
        "counted": counted,
        "ratio": indexed.figures()["median_ms"] / count.figures()["median_ms"],
        "chart": chart.figures(),
        "export": export.figures(),
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
        f"**Time to compute the digest, ms** (targets: under {TARGET_S * 1000:.0f} ms; at most "
        f"{TARGET_RATIO:.0f}× one `SELECT count(*)` over the year's deploys, timed in turn)",
        "",
        "| database | median | p95 | max | baseline: count(*) over the year (median) "
        f"| ratio (target ≤ {TARGET_RATIO:.0f}×) "
        "| baseline: without the digest's indexes (median · max) "
        "| the export, every overdue item (median) | chart (median) | writing the year |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        d, b, c, n = run["digest"], run["baseline"], run["chart"], run["count"]
        out.append(
            f"| {run['database']} | {d['median_ms']:.0f} | {d['p95_ms']:.0f} | "
            f"{d['max_ms']:.0f} | {n['median_ms']:.2f} ({run['counted']:,} deploys) | "
            f"{run['ratio']:.1f}× | {b['median_ms']:.0f} · {b['max_ms']:.0f} | "
            f"{run['export']['median_ms']:.0f} | {c['median_ms']:.0f} | {run['write_s']:.0f} s |"
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
    over = [f"{r['database']} {r['ratio']:.1f}×" for r in runs if r["ratio"] > TARGET_RATIO]
    if over:
        say(f"over {TARGET_RATIO:.0f}× the count of the year's deploys: {', '.join(over)}")
    if len({json.dumps(r["check"], sort_keys=True) for r in runs}) > 1:
        say("the databases disagree on the week's figures")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
