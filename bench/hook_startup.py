"""The bare start-up of the pre-receive hook's command, and where its imports go: what
``bench/gate.py`` sets beside the pushes to explain what the hook adds to one.
"""

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import rotated
from git_pushes import uncached_env

PYTHON = Path(sys.executable).absolute()  # not resolved: the venv's python is a symlink
ANDON = PYTHON.parent / "andon"

# --- start-up of the hook's command -----------------------------------------------------------

# What ``answer`` in bot/githooks/gate_database.py imports when it runs (kept in step by hand).
DATABASE_IMPORTS = (
    "bot.bus.dispatch, bot.bus.events, bot.bus.unit, core.actor, core.clock, core.config.file, "
    "core.gate.push, sqlalchemy.exc, storage.database"
)
ROOT = str(Path(__file__).resolve().parent.parent)  # the checkout: the hook appends it to sys.path
HOOK_CODE = (
    f"import sys; sys.path.append({ROOT!r}); "
    "from bot.githooks.pre_receive import main; sys.exit(main())"
)
STARTUPS = (
    ("python", "`python -c pass` (interpreter + site, same venv)", [str(PYTHON), "-c", "pass"]),
    (
        "python_nosite",
        "`python -S -P -c pass` (the interpreter as the hook starts it: no site)",
        [str(PYTHON), "-S", "-P", "-c", "pass"],
    ),
    (
        "hook_direct",
        "`python -S -P -c '…pre_receive import main…'` < empty stdin (the hook's command as "
        "`andon gate install` writes it, nothing to check)",
        [str(PYTHON), "-S", "-P", "-c", HOOK_CODE],
    ),
    (
        "hook",
        "`andon gate pre-receive` < empty stdin (the command of hooks written before, nothing "
        "to check)",
        [str(ANDON), "gate", "pre-receive"],
    ),
    (
        "hook_uncached",
        "the same, the checkout's modules compiled at every start (no bytecode cache)",
        [str(ANDON), "gate", "pre-receive"],
    ),
    (
        "http_imports",
        '`python -S -P -c "import bot.githooks.pre_receive, bot.settings.sealed"` (what the HTTP '
        "path imports)",
        [
            str(PYTHON),
            "-S",
            "-P",
            "-c",
            f"import sys; sys.path.append({ROOT!r}); "
            "import bot.githooks.pre_receive, bot.settings.sealed",
        ],
    ),
    (
        "quick_imports",
        '`python -S -P -c "import …pre_receive, …gate_quick, sqlite3"` '
        "(the database path's short way: a running line, a config it has read before)",
        [
            str(PYTHON),
            "-S",
            "-P",
            "-c",
            f"import sys; sys.path.append({ROOT!r}); "
            "import bot.githooks.pre_receive, bot.githooks.gate_quick, sqlite3",
        ],
    ),
    (
        "database_imports",
        '`python -c "import bot.githooks.pre_receive, <what the full way imports>"` '
        "(the database path's full way: a stopped line, a changed config, PostgreSQL)",
        [str(PYTHON), "-c", f"import bot.githooks.pre_receive, {DATABASE_IMPORTS}"],
    ),
)


def startups(rounds: int, env: dict[str, str], cwd: Path) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name, _, _ in STARTUPS}
    for r in range(rounds + 2):  # the first two rounds warm the page cache and are dropped
        for name, _, command in rotated(STARTUPS, r):
            started = time.perf_counter()
            done = subprocess.run(
                command,
                cwd=cwd,
                env=uncached_env(env) if name.endswith("_uncached") else env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=60,
            )
            took = time.perf_counter() - started
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr!r}")
            if r >= 2:
                times[name].append(took)
    return times


# --- where the hook's imports go --------------------------------------------------------------

_IMPORT = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( +)(\S+)")


def import_profile(said: str) -> dict[str, Any]:
    """``-X importtime`` lines the hook printed (as ``remote: …``), in µs: the modules imported at
    the top level (cumulative), and every module's own time summed by its top package."""
    top: dict[str, int] = {}
    by_package: dict[str, int] = {}
    for line in said.splitlines():
        found = _IMPORT.search(line)
        if not found:
            continue
        own, cumulative, indent, module = found.groups()
        package = module.split(".")[0]
        by_package[package] = by_package.get(package, 0) + int(own)
        if len(indent) == 1:  # one space: imported at the top level
            top[module] = top.get(module, 0) + int(cumulative)
    return {
        "total_ms": round(sum(top.values()) / 1000, 1),
        "top_ms": sorted(top.items(), key=lambda kv: -kv[1]),
        "by_package_ms": sorted(by_package.items(), key=lambda kv: -kv[1]),
    }
