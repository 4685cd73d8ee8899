"""Warm rollbacks of 20 hosts back to back, each against the flip alone: wall time, this
process's CPU, and where each rollback's time goes (issue 22's "units of work").

``deploy.py`` times four rollbacks per size and round; on a shared two-core machine four
samples spread more than a change moves them. This script takes many pairs in one process —
the port's flip alone (``releases.activate`` per host, one thread each, pooled connections) and
a warm ``/rollback`` through the engine, their order alternating — and reports the medians, the
CPU each cost this process (``time.process_time``: steadier than wall time under load), and a
timeline of every rollback: the request, each unit of work (waiting for the writer, its body,
its commit), the look and the flip (``Executor.each_at_once``) and the thread's end. The
clocks are this script's, patched around Andon's methods (not Andon's behaviour).

    .venv/bin/python bench/deploy_units.py [--rollbacks 40] [--hosts 20] [--json]
        [--line-left-stopped]
"""

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from common import load_average, progress
from deploy import as_recorded, flip_port, rollback
from deploy_hosts import live_on
from deploy_lab import open_lab, running_line

from bot.hosts.ssh import SshTransport
from core.deploy import executor, run
from storage.database import Database
from tests.ssh_hosts import SshFleet

say = progress("deploy_units")


class Timeline:
    """Spans (thread, what, start, end) of the rollback being timed."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, str, float, float]] = []
        self.on = False

    def add(self, what: str, start: float, end: float) -> None:
        if self.on:
            self.spans.append((threading.current_thread().name, what, start, end))


def clocked(timeline: Timeline) -> Callable[[], None]:
    """Clocks around the units of work and the run's phases; returns what takes them off."""
    saved: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str, what: str) -> None:
        inner = getattr(owner, name)
        saved.append((owner, name, inner))

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                timeline.add(what, started, time.perf_counter())

        setattr(owner, name, timed)

    writing = Database.writing
    saved.append((Database, "writing", writing))

    @contextmanager
    def timed_writing(self: Database, *, urgent: bool = False) -> Iterator[Any]:
        asked = time.perf_counter()
        with writing(self, urgent=urgent) as session:
            entered = time.perf_counter()
            yield session
            worked = time.perf_counter()
        timeline.add("unit: waiting for the writer", asked, entered)
        timeline.add("unit: its statements", entered, worked)
        timeline.add("unit: flush and commit", worked, time.perf_counter())

    Database.writing = timed_writing  # type: ignore[method-assign]
    wrap(executor.Executor, "each_at_once", "hosts: one question to each")
    wrap(executor.Executor, "close", "hosts: the run's threads and connections let go")
    wrap(run._Run, "run", "the run (the deployer's thread)")

    def undo() -> None:
        for owner, name, inner in reversed(saved):
            setattr(owner, name, inner)

    return undo


def summary(spans: list[tuple[str, str, float, float]], t0: float) -> dict[str, Any]:
    """Per rollback: the request's unit, the run's units and phases, in ms."""
    out: dict[str, Any] = defaultdict(float)
    units = asked = 0
    for thread, what, start, end in sorted(spans, key=lambda span: span[2]):
        took = (end - start) * 1000
        if what.startswith("hosts: one question"):  # a rollback asks twice: look, then flip
            what = f"{what}: {'the look' if asked == 0 else 'the flip'}"
            asked += 1
        where = "request" if thread == "MainThread" else "run"
        if what.startswith("unit"):
            out[f"{where} {what}"] += took
            units += what == "unit: its statements"
        else:
            out[what] += took
        if what.startswith("the run"):
            out["run starts after the request"] = (start - t0) * 1000
    out["units of work"] = units
    return dict(out)


def bench(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="andon-bench-units-") as scratch:
        say(f"starting {args.hosts} sshd on loopback")
        with SshFleet(args.hosts) as fleet:
            lab = open_lab(fleet, Path(scratch), (args.hosts,))
            lab.line_left_stopped = True  # started again here, before the clocks run
            hosts = lab.hosts[args.hosts]
            paths = [str(h.path) for h in hosts]
            transport = SshTransport(str(fleet.key_path), str(fleet.known_hosts_path))
            timeline = Timeline()
            undo = clocked(timeline)
            found: dict[str, list[Any]] = defaultdict(list)
            try:
                for _ in range(2):  # both pools warm
                    flip_port(transport, hosts, lab.other(live_on(paths[0])))
                    as_recorded(lab, args.hosts)
                    running_line(lab)
                    rollback(lab, args.hosts, lab.other(live_on(paths[0])))
                say(f"{args.rollbacks} warm rollbacks, each with a flip alone")
                for r in range(args.rollbacks):
                    for way in ("flip", "engine") if r % 2 == 0 else ("engine", "flip"):
                        if way == "flip":
                            cpu = time.process_time()
                            took = flip_port(transport, hosts, lab.other(live_on(paths[0])))
                            found["flip_cpu_ms"].append((time.process_time() - cpu) * 1000)
                            found["flip_ms"].append(took * 1000)
                            continue
                        as_recorded(lab, args.hosts)  # the flips went behind its back
                        if not args.line_left_stopped:  # a running line, as in deploy.py
                            running_line(lab)
                        timeline.spans.clear()
                        timeline.on = True
                        cpu, t0 = time.process_time(), time.perf_counter()
                        took = rollback(lab, args.hosts, lab.other(live_on(paths[0])))
                        found["engine_cpu_ms"].append((time.process_time() - cpu) * 1000)
                        timeline.on = False
                        found["engine_ms"].append(took["total_s"] * 1000)
                        found["request_ms"].append(took["request_s"] * 1000)
                        found["timeline"].append(summary(timeline.spans, t0))
            finally:
                undo()
                transport.close()
                if lab.andon.deployer is not None:
                    lab.andon.deployer.close()
                lab.andon.database.dispose()
    return found


def report(found: dict[str, Any], args: argparse.Namespace, load: tuple[str, str]) -> str:
    def med(name: str) -> float:
        return statistics.median(found[name])

    parts: dict[str, list[float]] = defaultdict(list)
    for one in found["timeline"]:
        for name, value in one.items():
            parts[name].append(value)
    out = [
        f"**{args.rollbacks} warm rollbacks of {args.hosts} hosts**, each paired with the flip "
        f"alone, their order alternating (load average {load[0]} before, {load[1]} "
        "after): median (p90) ms",
        "",
        "| | wall | this process's CPU |",
        "|---|--:|--:|",
        f"| the flip alone (`releases.activate`, pooled) | {_cell(found['flip_ms'])} | "
        f"{_cell(found['flip_cpu_ms'])} |",
        f"| `/rollback` through the engine, warm | {_cell(found['engine_ms'])} | "
        f"{_cell(found['engine_cpu_ms'])} |",
        f"| ratio of the medians | {med('engine_ms') / med('flip_ms'):.2f}× | "
        f"{med('engine_cpu_ms') / med('flip_cpu_ms'):.2f}× |",
        "",
        "Where a rollback's wall time goes (the timeline of each, median of the rollbacks; the "
        "run's spans overlap: the units and the questions are inside the run)",
        "",
        "| span | median ms | p90 ms |",
        "|---|--:|--:|",
        f"| the request (`Andon.execute`, to its answer) | {_cell(found['request_ms'], ' | ')} |",
    ]
    for name in sorted(parts, key=lambda n: (not n.startswith("request"), n)):
        if name == "units of work":
            continue
        out.append(f"| {name} | {_cell(parts[name], ' | ')} |")
    out.append(f"| units of work (count) | {statistics.median(parts['units of work']):.0f} | |")
    return "\n".join(out)


def _cell(values: list[float], between: str = " (") -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    end = ")" if between == " (" else ""
    return f"{statistics.median(ordered):.1f}{between}{p90:.1f}{end}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rollbacks", type=int, default=40)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="raw figures as JSON")
    parser.add_argument(
        "--line-left-stopped",
        action="store_true",
        help="each rollback adds its cause to the stoppage of those before (the old way)",
    )
    args = parser.parse_args(argv)
    before = load_average()
    found = bench(args)
    after = load_average()
    if args.json:
        print(json.dumps({"load": [before, after], **found}, indent=1))
    else:
        print(report(found, args, (before, after)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
