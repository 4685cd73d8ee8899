"""A year of synthetic history for ``digest.py``, written straight into a migrated database: the
digest only reads, so how rows got there does not matter. Rows are spread evenly over the 52 weeks
to the digest's week, from a fixed random seed.
"""

import bisect
import random
from datetime import datetime, timedelta
from typing import Any

import common  # noqa: F401  (importing it puts the project root on sys.path)
from sqlalchemy import insert, text

from core.digest.week import Week
from core.whys.phase import Phase
from storage.database import Database
from storage.tables import (
    ActionItem,
    CiResult,
    Deploy,
    Page,
    PageEvent,
    Stoppage,
    StoppageCause,
    Whys,
)

WEEK = Week(2026, 47)
END = WEEK.end  # Monday 2026-11-23 00:00 UTC: the history's last instant
START = END - timedelta(weeks=52)
SIZES = {"deploys": 50_000, "stoppages": 5_000, "items": 20_000, "ci": 200_000, "pages": 10_000}


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


def causes(stops: list[dict[str, Any]], shipped: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A cause for each stoppage; a deploy's or a page's often names the revision that went out
    last, a rollback names the one it left and the one it landed on. From a seed of its own, so
    the other tables are what they were before causes were written."""
    rng = random.Random(48)
    ordered = sorted((d["finished_at"], d["revision"]) for d in shipped)
    rows = []
    for stop in stops:
        k = max(1, bisect.bisect(ordered, (stop["opened_at"], "")) - 1)
        last, before = ordered[k][1][:7], ordered[k - 1][1][:7]
        text = {
            "deploy": f"deploy of {last} failed: errors up",
            "alert": f"checkout errors since {last} went out" if rng.random() < 0.3 else "p99 up",
            "ci": "CI failed on main: tests",
        }.get(stop["opened_via"])
        if text is None:
            text = f"production rolled back from {before} to {last}" if rng.random() < 0.25 else ""
        rows.append(
            {
                "stoppage_id": stop["id"],
                "at": stop["opened_at"],
                "actor": "andon",
                "actor_name": "andon",
                "via": stop["opened_via"],
                "text": text or "stopped by hand",
            }
        )
    return rows


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
    deploy_rows = deploys(rng, size["deploys"])
    tables = [
        (Deploy, deploy_rows),
        (Stoppage, stop_rows),
        (StoppageCause, causes(stop_rows, deploy_rows)),
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
