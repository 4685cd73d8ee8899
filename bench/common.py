"""What the benchmarks share: the machine they ran on, a throwaway PostgreSQL cluster, what the
server logged, the CPU its processes used, percentiles, and progress on stderr.

Every script in ``bench/`` runs on its own (``.venv/bin/python bench/<name>.py``). They used to
borrow these from one another — most from ``slash_ack.py``, ``alerts.py`` from ``storms.py`` —
so that changing one benchmark could break another. Now each script imports what it shares from
here (and the clients that time requests from ``clients.py``), and none imports another script.

A script imports it as ``common`` (its own folder is first on ``sys.path`` when Python runs it),
before ``tests`` or Andon's packages: importing it puts the project root on ``sys.path`` too.
"""

import math
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.harness import AndonServer  # noqa: E402
from tests.postgres import PostgresCluster, server_binaries  # noqa: E402

TIMEOUT_S = 10.0

Say = Callable[[str], None]


def progress(script: str) -> Say:
    """Progress goes to stderr, stamped with the script's name, so stdout stays the report."""

    def say(text: str) -> None:
        print(f"[{script} {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    return say


def rotated(items: tuple, r: int) -> tuple:
    """``items`` begun at round ``r``'s turn, so drift on the machine hits every item alike."""
    k = r % len(items)
    return items[k:] + items[:k]


def balanced(names: tuple, r: int) -> tuple:
    """Round ``r``'s order of the phases, from a balanced Latin square (Williams): over every
    ``len(names)`` rounds each phase comes first once and follows each other phase once. A
    rotation keeps one cyclic order, so one phase always follows the same other one and pays
    for its aftermath (its garbage, its threads winding down, its connections closing)."""
    n = len(names)
    first = [0] + [(k + 1) // 2 if k % 2 else n - k // 2 for k in range(1, n)]
    return tuple(names[(i + r) % n] for i in first)


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value that ``p`` per cent of the values do not exceed."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


# --- CPU ------------------------------------------------------------------------------------

Clock = Callable[[], dict[str, float]]


def cpu_ticks(pid: int | str, *, children: bool = False) -> int:
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
        used = cpu_ticks(postmaster_pid, children=True)  # exited backends were reaped by it
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                ppid = stat.read_text().rsplit(")", 1)[1].split()[1]
            except (OSError, IndexError):
                continue
            if ppid == str(postmaster_pid):
                used += cpu_ticks(stat.parent.name)
        return used / tick

    def now() -> dict[str, float]:
        used = {"andon": cpu_ticks(andon_pid) / tick}
        if postmaster_pid is not None:
            used["postgres"] = postgres()
        used["client"] = time.process_time()
        return used

    return now


def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds of each process between two readings of a ``Clock``."""
    return {k: after[k] - before[k] for k in before}


def cpu_cell(summary: dict[str, Any]) -> str:
    """A report's CPU column: ms per request of ``andon serve`` · PostgreSQL · this client."""
    used = summary["cpu_ms_per_request"]
    return " · ".join(
        f"{used[k]:.2f}" if k in used else "–" for k in ("andon", "postgres", "client")
    )


# --- the server's log -----------------------------------------------------------------------

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


def log_tail(server: AndonServer, lines: int) -> str:
    """The end of the server's log: what to show when a run fails."""
    try:
        return "\n".join(server.log().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def server_log(runs: list[Any]) -> list[str]:
    """The Markdown lines that report what the servers logged: warnings, errors, tracebacks."""
    logged = [(run.database, entry) for run in runs for entry in run.log_errors]
    out = ["", f"**Server log**: {len(logged)} warnings, errors or tracebacks during the run."]
    for database, entry in logged[:12]:
        lines = entry.splitlines()
        shown = lines[0] if len(lines) == 1 else f"{lines[0][:100]} … {lines[-1]}"
        out.append(f"- {database}: `{shown[:220]}`")
    return out


# --- PostgreSQL -----------------------------------------------------------------------------


@contextmanager
def postgres_cluster(say: Say) -> Iterator[tuple[PostgresCluster | None, str]]:
    """A throwaway cluster, or ``None`` and why there is none: a machine without PostgreSQL
    still runs the SQLite half."""
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


def postgres_version(cluster: PostgresCluster) -> str:
    """The server's own version, for the machine table."""
    import psycopg

    with psycopg.connect(cluster.url("postgres")) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


def postmaster_pid(cluster: PostgresCluster) -> int | None:
    """The cluster's parent process, whose children's CPU a ``cpu_clock`` counts."""
    try:
        return int((cluster.root / "data" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


@dataclass(frozen=True)
class Backend:
    """One database a benchmark runs ``andon serve`` on, or why it was skipped."""

    name: str  # "sqlite" or "postgresql"
    url: str = ""
    workdir: Path = Path()
    postmaster: int | None = None
    version: str = ""  # for the machine table: PostgreSQL's version, or why it was skipped
    data: str = ""  # where PostgreSQL keeps its files
    skipped: str | None = None


def backends(wanted: list[str], *, scratch: Path, say: Say) -> Iterator[Backend]:
    """SQLite, then PostgreSQL in a throwaway cluster, each if wanted: every script that
    compares the two runs them alike. The cluster stops when the next one is asked for."""
    if "sqlite" in wanted:
        yield Backend("sqlite", f"sqlite:///{scratch / 'sqlite' / 'andon.db'}", scratch / "sqlite")
    if "postgresql" not in wanted:
        return
    with postgres_cluster(say) as (cluster, why):
        if cluster is None:
            say(f"postgresql: skipped — {why}")
            yield Backend("postgresql", version=f"skipped: {why}", skipped=why)
            return
        yield Backend(
            "postgresql",
            cluster.create_database("andon_bench"),
            scratch / "postgresql",
            postmaster_pid(cluster),
            postgres_version(cluster),
            str(cluster.root),
        )


# --- the machine ----------------------------------------------------------------------------


def load_average() -> str:
    """The 1-minute load: other work on the machine skews every figure, so the report shows it."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except (OSError, IndexError):
        return "?"


def host() -> dict[str, str]:
    """CPU, memory, OS and Python: the first rows of every machine table."""
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
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable)",
        "memory": memory,
        "OS": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "Python": platform.python_version(),
    }


def commit() -> str:
    """The checkout's short commit: figures compare only with the code they measured."""
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()


def uncommitted() -> list[str]:
    """The tracked files changed since the commit: the server runs the working tree."""
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    return [line[3:] for line in changed]


def name_uncommitted(box: dict[str, str]) -> None:
    """Adds the uncommitted changes, if any, to the machine table's commit."""
    names = uncommitted()
    if names:
        shown = ", ".join(names) if len(names) <= 4 else f"{len(names)} tracked files"
        box["commit"] += f" + uncommitted changes to {shown}"


def filesystem(path: str) -> str:
    """The file system ``path`` lives on (tmpfs or a disk changes what a commit costs)."""
    best, kind = "", "?"
    with open("/proc/mounts") as mounts:
        for line in mounts:
            parts = line.split()
            if len(parts) > 2 and path.startswith(parts[1]) and len(parts[1]) >= len(best):
                best, kind = parts[1], parts[2]
    return f"{kind} ({path})"


def machine(pg_version: str, load_before: str) -> dict[str, str]:
    """What the figures were measured on, for the report's machine table."""
    packages = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("uvicorn", "fastapi", "slack_bolt", "SQLAlchemy", "psycopg")
    )
    return {
        **host(),
        "SQLite": sqlite3.sqlite_version,
        "PostgreSQL": pg_version,
        "packages": packages,
        "commit": commit() or "unknown",
        "load average (1 min) before / after": f"{load_before} / {load_average()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def machine_table(box: dict[str, str]) -> list[str]:
    """The Markdown lines of the machine table that opens every report."""
    return ["**Machine**", "", "| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in box.items())]


# --- what every report and check shares -------------------------------------------------------


def wanted_databases(text: str) -> list[str]:
    """``--databases sqlite,postgresql`` as a list, blanks dropped."""
    return [d.strip() for d in text.split(",") if d.strip()]


def each_database(
    wanted: list[str],
    *,
    scratch: Path,
    run: Callable[[Backend], Any],
    skip: Callable[[str, str], Any],
    say: Say,
    note_data: bool = False,
) -> tuple[list[Any], str]:
    """One run per wanted database (``skip``'s for one that could not be had), and PostgreSQL's
    version for the machine table — with where its data lived if ``note_data``."""
    runs: list[Any] = []
    pg_version = "not measured"
    for on in backends(wanted, scratch=scratch, say=say):
        runs.append(skip(on.name, on.skipped) if on.skipped else run(on))
        pg_version = on.version or pg_version
        if note_data and on.data:
            pg_version += f", fsync=off, data in {filesystem(on.data)}"
    return runs, pg_version


def sqlite_machine(pg_version: str, load_before: str, where: str) -> dict[str, str]:
    """The machine table of a script that measures writes: uncommitted changes, SQLite's disk."""
    box = machine(pg_version, load_before)
    name_uncommitted(box)
    box["SQLite database"] = f"WAL, synchronous=NORMAL, on {where}"
    return box


def unmet(expect: dict[str, tuple[Any, Any]]) -> list[str]:
    """A check's problems: each thing counted whose figure is not what was expected."""
    return [
        f"{what}: {got}, expected {wanted}"
        for what, (got, wanted) in expect.items()
        if got != wanted
    ]


def verdict(problems: list[str]) -> str:
    """A check's result cell."""
    return "ok" if not problems else "FAILED: " + "; ".join(problems)


def skipped_row(database: str, why: str, columns: int) -> str:
    """A table's row for a database that was not measured, its other cells empty."""
    return f"| {database} | skipped: {why} |" + " |" * (columns - 2)


def sample_json(sample: Any) -> dict[str, Any]:
    """A ``clients.Sample``'s summary with every latency, for ``--json``."""
    return {**sample.summary(), "latencies_ms": [round(x * 1000, 3) for x in sample.latencies_s]}
