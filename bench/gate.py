"""What the commit check adds to a ``git push``: the same push with and without Andon's hook.

The hook (``andon gate pre-receive``, installed by ``andon gate install``) runs in every push. The
target: under 150 ms added per push over HTTP. The script builds, in a temporary directory, bare
repositories that differ only in their pre-receive hook, each with a clone whose git ignores this
host's configuration:

- **baseline**: no hook;
- **no-op hook**: ``#!/bin/sh`` + ``cat >/dev/null`` — what git running any hook costs;
- **HTTP**: the hook installed with ``ANDON_URL`` set, asking a running ``andon serve`` (SQLite,
  fake Slack) over loopback;
- **database**: the hook installed without ``ANDON_URL``, deciding from the same SQLite database.

Then, round after round, each repository gets a push of one new one-commit change to ``main``
(the line runs, so every push passes), timed with ``time.perf_counter`` around ``git push``. The
order of the variants rotates every round, so drift on the machine hits all of them alike. Every
push must land (the bare repository's ``main`` is checked); the script exits 1 if one does not.

Then the bare start-up of the hook's command with empty stdin (it reads no ref and exits 0) —
``python -S -P -c '…pre_receive import main…'`` as ``andon gate install`` writes it, and
``andon gate pre-receive`` as earlier hooks run it — against ``python -c pass`` (and ``-S -P``)
from the same virtualenv, and a ``python -c`` that only imports what each path imports. Last,
one more push per hooked variant with ``PYTHONPROFILEIMPORTTIME=1``: the hook's own imports, as
it really runs.

Only loopback traffic and local git; a bounded number of pushes; the server is stopped and the
temporary directory removed also on error (about a minute in all). Progress goes to stderr; the
Markdown for ``bench/README.md`` (or ``--json``) goes to stdout.

    .venv/bin/python bench/gate.py [--json] [--pushes 30] [--startups 30]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from statistics import mean
from typing import Any

from common import (
    complaints,
    cpu_ticks,
    load_average,
    log_tail,
    machine,
    machine_table,
    percentile,
    progress,
    rotated,
)
from git_pushes import Pushed, Repo, git_env, push
from hook_startup import ANDON, STARTUPS, import_profile, startups

from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, AndonServer, run_cli

TARGET_ADDED_MS = 150.0
HTTP_RATIO, DATABASE_RATIO = 2.0, 6.0  # issue 22: added per push against `python -c pass`
NOOP_HOOK = "#!/bin/sh\ncat >/dev/null\n"

# name, label in the report
VARIANTS = (
    ("baseline", "no hook (baseline)"),
    ("noop", "no-op shell hook"),
    ("http", "Andon's hook, HTTP (`ANDON_URL`)"),
    ("database", "Andon's hook, direct database"),
)
HOOKED = ("http", "database")

say = progress("gate")


# --- one variant's figures --------------------------------------------------------------------


@dataclass
class Series:
    name: str
    label: str
    latencies_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    serve_cpu_s: list[float] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)  # anything the pusher was told

    def add(self, pushed: Pushed, serve_cpu: float) -> None:
        self.latencies_s.append(pushed.seconds)
        self.cpu_s.append(pushed.cpu_s)
        self.serve_cpu_s.append(serve_cpu)
        if not pushed.landed:
            self.failed.append(pushed.said[:400])
        elif pushed.said:
            self.said.append(pushed.said[:400])

    def ms(self, p: float) -> float:
        """Nearest rank, as the other benchmarks report their percentiles."""
        return percentile(self.latencies_s, p) * 1000

    def summary(self) -> dict[str, Any]:
        return {
            "variant": self.name,
            "pushes": len(self.latencies_s),
            "not_landed": len(self.failed),
            "p50_ms": round(self.ms(50), 1),
            "p90_ms": round(self.ms(90), 1),
            "min_ms": round(min(self.latencies_s) * 1000, 1),
            "max_ms": round(max(self.latencies_s) * 1000, 1),
            "cpu_ms_push": round(mean(self.cpu_s) * 1000, 1),
            "cpu_ms_serve": round(mean(self.serve_cpu_s) * 1000, 1),
        }


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Run:
    series: dict[str, Series]
    startup_s: dict[str, list[float]]
    imports: dict[str, dict[str, Any]]
    log_errors: list[str]
    versions: dict[str, str]


def line_config(bare: Path) -> str:
    return f'[slack]\nchannel = "{CHANNEL}"\n\n[repo]\npath = "{bare}"\nbranch = "main"\n'


def install(server: AndonServer, repo: Repo, *, over_http: bool) -> None:
    env = {**server.env, "ANDON_URL": server.url} if over_http else dict(server.env)
    done = run_cli(["gate", "install", str(repo.bare)], env=env, cwd=server.workdir)
    if done.returncode != 0:
        raise RuntimeError(f"andon gate install {repo.bare}:\n{done.stdout}{done.stderr}")
    hook = (repo.bare / "hooks" / "pre-receive").read_text()
    if ("ANDON_URL" in hook) != over_http:
        raise RuntimeError(f"{repo.bare}'s hook does not ask as expected:\n{hook}")


def bench(scratch: Path, args: argparse.Namespace) -> Run:
    env = git_env(scratch)
    repos = {name: Repo.create(name, scratch / "git", env) for name, _ in VARIANTS}
    noop = repos["noop"].bare / "hooks" / "pre-receive"
    noop.write_text(NOOP_HOOK)
    noop.chmod(0o755)
    series = {name: Series(name, label) for name, label in VARIANTS}
    workdir = scratch / "andon"
    with FakeSlack() as slack:
        server = AndonServer(
            workdir,
            database_url=f"sqlite:///{workdir / 'andon.db'}",
            slack=slack,
            config=line_config(repos["http"].bare),
        )
        try:
            say("starting andon serve (SQLite, fake Slack)")
            server.start()
            install(server, repos["http"], over_http=True)
            install(server, repos["database"], over_http=False)
            warm_up(repos, args.warmup)
            timed_pushes(repos, series, args.pushes, server.process.pid)
            imports = profiled_imports(repos)
            say(f"start-up: {args.startups} rounds of the hook's command and its baselines")
            startup_s = startups(args.startups, env, repos["http"].bare)
        except BaseException:
            say("failed; the end of the server's log:\n" + log_tail(server, 30))
            raise
        finally:
            server.stop()
        log_errors = complaints(server.log())
    versions = {
        "git": subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip(),
        "requests": metadata.version("requests"),
    }
    return Run(series, startup_s, imports, log_errors, versions)


def warm_up(repos: dict[str, Repo], rounds: int) -> None:
    say(f"warm-up: {rounds} pushes to each repository (the first creates main)")
    for r in range(rounds):
        for name, _ in rotated(VARIANTS, r):
            pushed = push(repos[name])
            if not pushed.landed:
                raise RuntimeError(f"{name}: warm-up push refused:\n{pushed.said}")


def timed_pushes(
    repos: dict[str, Repo], series: dict[str, Series], rounds: int, serve_pid: int
) -> None:
    """One push to each repository a round, the order rotating, with the server's CPU."""
    tick = os.sysconf("SC_CLK_TCK")
    say(f"{rounds} rounds of one push to each, the order rotating")
    for r in range(rounds):
        for name, _ in rotated(VARIANTS, r):
            serve_before = cpu_ticks(serve_pid)
            pushed = push(repos[name])
            series[name].add(pushed, (cpu_ticks(serve_pid) - serve_before) / tick)
        if (r + 1) % 10 == 0:
            say(f"  {r + 1}/{rounds} rounds")


def profiled_imports(repos: dict[str, Repo]) -> dict[str, dict[str, Any]]:
    """The hook's own imports, as it really runs: one push per hooked variant."""
    say("one push per hooked variant with PYTHONPROFILEIMPORTTIME=1")
    imports = {}
    for name in HOOKED:
        pushed = push(repos[name], PYTHONPROFILEIMPORTTIME="1")
        if not pushed.landed:
            raise RuntimeError(f"{name}: the profiled push was refused:\n{pushed.said}")
        imports[name] = import_profile(pushed.said)
    return imports


# --- the report -------------------------------------------------------------------------------


def _ms(seconds: list[float], p: float) -> float:
    return percentile(seconds, p) * 1000


def markdown(run: Run, box: dict[str, str], args: argparse.Namespace) -> str:
    s = {name: x.summary() for name, x in run.series.items()}
    out = machine_table(box)
    out += _push_table(s, args)
    out += _targets(run, s)
    out += _startup_table(run, args)
    out += _imports_table(run)
    out += _pushes_said(run)
    out += _server_log(run)
    return "\n".join(out)


def _push_table(s: dict[str, dict[str, Any]], args: argparse.Namespace) -> list[str]:
    """Each variant's pushes, and what its hook adds to the baseline's median."""
    base = s["baseline"]["p50_ms"]
    out = [
        "",
        f"**Load**: {args.pushes} rounds, each one `git push origin main` of a new one-commit "
        f"change to each of the {len(VARIANTS)} repositories in turn, the order rotating every "
        f"round; after {args.warmup} warm-up pushes to each. Local transport (`git push` to a "
        "path), the line running, so every push passes. `andon serve` on SQLite over loopback.",
        "",
        "**Time of `git push`, ms** (nearest-rank percentiles; CPU: mean per push, of `git push` "
        "and every process it waited for — receive-pack, the hook, its git log · of `andon "
        "serve`, in 10 ms clock ticks)",
        "",
        "| pre-receive hook | pushes | not landed | p50 | p90 | min | max | added p50 | CPU ms |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, label in VARIANTS:
        x = s[name]
        added = "–" if name == "baseline" else f"{x['p50_ms'] - base:+.1f}"
        out.append(
            f"| {label} | {x['pushes']} | {x['not_landed']} | {x['p50_ms']:.1f} | "
            f"{x['p90_ms']:.1f} | {x['min_ms']:.1f} | {x['max_ms']:.1f} | {added} | "
            f"{x['cpu_ms_push']:.1f} · {x['cpu_ms_serve']:.1f} |"
        )
    return out


def _targets(run: Run, s: dict[str, dict[str, Any]]) -> list[str]:
    base = s["baseline"]["p50_ms"]
    http_added = s["http"]["p50_ms"] - base
    database_added = s["database"]["p50_ms"] - base
    met = http_added < TARGET_ADDED_MS and not run.series["http"].failed
    python = _ms(run.startup_s["python"], 50)
    return [
        "",
        f"**Target**: under {TARGET_ADDED_MS:.0f} ms added per push over HTTP (median); issue 22: "
        f"at most {HTTP_RATIO:.0f}× `python -c pass` over HTTP, {DATABASE_RATIO:.0f}× on the "
        f"database path ({python:.1f} ms at p50 in this run).",
        "",
        f"- HTTP: {http_added:+.1f} ms — {'met' if met else 'MISSED'}; "
        f"{http_added / python:.1f}× `python -c pass` (target ≤ {HTTP_RATIO:.0f}×)",
        f"- direct database: {database_added:+.1f} ms; "
        f"{database_added / python:.1f}× `python -c pass` (target ≤ {DATABASE_RATIO:.0f}×)",
    ]


def _startup_table(run: Run, args: argparse.Namespace) -> list[str]:
    out = [
        "",
        f"**Start-up**, ms ({args.startups} rounds, the order rotating, after 2 dropped)",
        "",
        "| command | p50 | p90 | min | max |",
        "|---|--:|--:|--:|--:|",
    ]
    for name, label, _ in STARTUPS:
        t = run.startup_s[name]
        out.append(
            f"| {label} | {_ms(t, 50):.1f} | {_ms(t, 90):.1f} | {min(t) * 1000:.1f} | "
            f"{max(t) * 1000:.1f} |"
        )
    return out


def _imports_table(run: Run) -> list[str]:
    out = [
        "",
        "**The hook's imports**, ms (one push each with `PYTHONPROFILEIMPORTTIME=1`, which "
        "inflates them: read the shares, not the sums)",
        "",
        "| path | all imports | largest, imported at the top level | by package (own time) |",
        "|---|--:|---|---|",
    ]
    for name in HOOKED:
        profile = run.imports[name]
        largest = ", ".join(f"{m} {us / 1000:.1f}" for m, us in profile["top_ms"][:5])
        packages = ", ".join(f"{m} {us / 1000:.1f}" for m, us in profile["by_package_ms"][:7])
        out.append(f"| {name} | {profile['total_ms']:.1f} | {largest} | {packages} |")
    return out


def _pushes_said(run: Run) -> list[str]:
    """Pushes that did not land, then anything said to the pusher."""
    said = [(x.name, text) for x in run.series.values() for text in x.said]
    failed = [(x.name, text) for x in run.series.values() for text in x.failed]
    out = [
        "",
        f"**Pushes**: {len(failed)} not landed; {len(said)} with anything said to the pusher.",
    ]
    for name, text in (failed + said)[:6]:
        out.append(f"- {name}: `{text.splitlines()[0][:200] if text else ''}`")
    return out


def _server_log(run: Run) -> list[str]:
    out = [
        "",
        f"**Server log**: {len(run.log_errors)} warnings, errors or tracebacks during the run.",
    ]
    for entry in run.log_errors[:6]:
        out.append(f"- `{entry.splitlines()[0][:200]}`")
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", action="store_true", help="print raw figures as JSON")
    parser.add_argument("--pushes", type=int, default=30, help="timed pushes per variant (≥ 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed pushes per variant")
    parser.add_argument("--startups", type=int, default=30, help="start-ups of each command")
    args = parser.parse_args(argv)
    if args.pushes < 1 or args.warmup < 1 or args.startups < 1:
        parser.error("--pushes, --warmup and --startups must be at least 1")
    if not ANDON.is_file():
        parser.error(f"{ANDON} is not there: run `make dev` first")
    return args


def gate_machine(run: Run, load_before: str) -> dict[str, str]:
    """The shared machine table, with git and requests, without PostgreSQL."""
    box = machine("not used (SQLite only)", load_before)
    box.pop("PostgreSQL", None)
    box["packages"] += f", requests {run.versions['requests']}"
    return {
        **box,
        "git": run.versions["git"],
        "bytecode": "cached (a `PYTHONPYCACHEPREFIX` in the temporary directory, warmed by the "
        "warm-up pushes); `PYTHONDONTWRITEBYTECODE` unset for git and the hook",
    }


def raw(run: Run, box: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    return {
        "machine": box,
        "settings": vars(args),
        "target_added_ms": TARGET_ADDED_MS,
        "series": [
            {
                **x.summary(),
                "latencies_ms": [round(t * 1000, 2) for t in x.latencies_s],
                "cpu_ms": [round(t * 1000, 2) for t in x.cpu_s],
                "serve_cpu_ms": [round(t * 1000, 2) for t in x.serve_cpu_s],
                "failed": x.failed,
                "said": x.said,
            }
            for x in run.series.values()
        ],
        "startup_ms": {k: [round(t * 1000, 2) for t in v] for k, v in run.startup_s.items()},
        "imports": run.imports,
        "log_errors": run.log_errors,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="andon-bench-gate-") as scratch:
        run = bench(Path(scratch), args)
    box = gate_machine(run, load_before)
    if args.json:
        print(json.dumps(raw(run, box, args), indent=2))
    else:
        print(markdown(run, box, args))
    failed = sum(len(x.failed) for x in run.series.values())
    if failed:
        say(f"{failed} pushes did not land")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
