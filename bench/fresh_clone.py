"""A fresh clone to serving, and ``make test``'s install: from uv.lock with uv, beside pip.

Every run clones this checkout's committed HEAD into a new temporary folder and times, wall
clock (``time.perf_counter``), one of:

- **lock, serve**: ``make run`` until ``GET /healthz`` answers 200 (the virtualenv, ``uv sync
  --frozen``, ``andon serve`` migrating a new SQLite database and starting);
- **lock, install**: ``make .venv/.dev``, the install step of ``make test`` (the same, plus the
  dev extra and every module's bytecode), nothing run;
- **baseline, pip**: the same two with the steps the Makefile took before the lock —
  ``python3 -m venv``, ``pip install --upgrade pip``, ``pip install -e .`` (then ``andon serve``
  until ``/healthz``), and ``pip install -e '.[dev]'`` after it for the install.

The runs alternate (lock, pip, lock, pip, …) so both see the same machine. Both tools' download
caches are warm, as on any machine after its first install: what is timed is resolving,
installing and starting, not the network. ``make`` uses the machine's uv when there is one
(``UV=.venv/bin/uv`` in the environment times the bootstrap instead: uv put into the virtualenv
by pip). ``andon serve`` reads nothing of the caller's environment (no Slack variables: the
terminal is the channel) and listens on a free port.

    .venv/bin/python bench/fresh_clone.py [--runs 3] [--json]

Progress goes to stderr; the Markdown for ``bench/README.md`` (or ``--json``) to stdout.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests
from common import ROOT, commit, host, machine_table

PYTHON = "python3"
SERVE_TIMEOUT = 300.0
PIP = ("--quiet", "--disable-pip-version-check")
SEEN: dict[str, str] = {}  # the uv and pip each way installed into its clone's .venv


def _env(port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ANDON_"))}
    env.update(ANDON_HTTP_HOST="127.0.0.1", ANDON_HTTP_PORT=str(port), PYTHONUNBUFFERED="1")
    env.pop("VIRTUAL_ENV", None)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(args: list[str], *, cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:  # pip's warnings are kept out of the figures unless something broke
        raise SystemExit(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr[-2000:]}")


def _served(serve: list[str], *, cwd: Path, env: dict[str, str], start: float) -> float:
    """Start ``serve``; the seconds from ``start`` until /healthz answers, then stop it."""
    url = f"http://127.0.0.1:{env['ANDON_HTTP_PORT']}/healthz"
    server = subprocess.Popen(
        serve,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while time.perf_counter() - start < SERVE_TIMEOUT:
            if server.poll() is not None:
                raise SystemExit(f"{' '.join(serve)} exited {server.returncode} before serving")
            try:
                if requests.get(url, timeout=1).status_code == 200:
                    return time.perf_counter() - start
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        raise SystemExit(f"{url} did not answer within {SERVE_TIMEOUT:.0f} s")
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def lock_serve(clone: Path, env: dict[str, str]) -> float:
    return _served(["make", "run"], cwd=clone, env=env, start=time.perf_counter())


def lock_install(clone: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    _run(["make", ".venv/.dev"], cwd=clone, env=env)
    took = time.perf_counter() - start
    own = clone / ".venv/bin/uv"  # put there by pip when the machine has no uv
    SEEN["uv"] = f"{_version(own)}, into .venv by pip" if own.exists() else _version("uv")
    return took


def _pip_runtime(clone: Path, env: dict[str, str]) -> None:
    _run([PYTHON, "-m", "venv", ".venv"], cwd=clone, env=env)
    _run([".venv/bin/python", "-m", "pip", "install", *PIP, "--upgrade", "pip"], cwd=clone, env=env)
    _run([".venv/bin/python", "-m", "pip", "install", *PIP, "-e", "."], cwd=clone, env=env)


def pip_serve(clone: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    _pip_runtime(clone, env)
    return _served([".venv/bin/andon", "serve"], cwd=clone, env=env, start=start)


def pip_install(clone: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    _pip_runtime(clone, env)
    _run([".venv/bin/python", "-m", "pip", "install", *PIP, "-e", ".[dev]"], cwd=clone, env=env)
    took = time.perf_counter() - start
    SEEN["pip"] = _version(clone / ".venv/bin/pip")
    return took


def _version(tool: Path | str) -> str:
    return subprocess.run([tool, "--version"], capture_output=True, text=True).stdout.split()[1]


Way = Callable[[Path, dict[str, str]], float]
PAIRS: dict[str, tuple[Way, Way]] = {
    "a fresh clone to serving (`make run` until /healthz answers)": (lock_serve, pip_serve),
    "`make test`'s install (nothing installed yet)": (lock_install, pip_install),
}


def _once(way: Way) -> float:
    with tempfile.TemporaryDirectory(prefix="andon-setup-") as tmp:
        clone = Path(tmp) / "andon"
        subprocess.run(
            ["git", "clone", "--quiet", str(ROOT), str(clone)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return way(clone, _env(_free_port()))


def _machine() -> dict[str, str]:
    return {
        **host(),
        "commit": commit(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load average (1 min) before": f"{os.getloadavg()[0]:.1f}",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    machine = _machine()
    results: dict[str, dict[str, list[float]]] = {}
    for what, (lock, pip) in PAIRS.items():
        times: dict[str, list[float]] = {"lock": [], "pip": []}
        _once(lock), _once(pip)  # the warm-up: both caches filled
        for run in range(args.runs):
            for name, way in (("lock", lock), ("pip", pip)):
                times[name].append(_once(way))
                print(f"{what} · {name} · run {run + 1}: {times[name][-1]:.1f} s", file=sys.stderr)
        results[what] = times
    machine.update(SEEN)
    machine["load average (1 min) after"] = f"{os.getloadavg()[0]:.1f}"
    if args.json:
        print(json.dumps({"machine": machine, "seconds": results}, indent=2))
        return 0
    print("\n".join(machine_table(machine)))
    print(f"\n**Figures** (wall seconds, {args.runs} runs each after one warm-up, alternating)\n")
    print(
        "| what | uv from uv.lock: median (min–max) | pip, baseline: median (min–max) | pip ÷ uv |"
    )
    print("|---|---|---|---|")
    for what, times in results.items():
        lock, pip = (statistics.median(times[k]) for k in ("lock", "pip"))
        shown = [f"{statistics.median(t):.1f} ({min(t):.1f}–{max(t):.1f})" for t in times.values()]
        print(f"| {what} | {shown[0]} | {shown[1]} | {pip / lock:.1f}× |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
