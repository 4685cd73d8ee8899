"""What ``deploy.py's figures were measured on: the machine, the tools' versions, and the other
work seen running meanwhile (a benchmark's figures depend on it).
"""

import os
import sqlite3
import subprocess
import threading
from collections import defaultdict
from contextlib import suppress
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from common import commit, filesystem, host, load_average, uncommitted


class Neighbours:
    """Other work on the machine while this runs (a benchmark's figures depend on it): every
    second, the processes running pytest, a benchmark or an Andon server, and the load."""

    PATTERNS = ("pytest", "bench/", "bot.cli", "bin/andon")

    def __init__(self) -> None:
        self.samples = 0
        self.seen: dict[str, int] = defaultdict(int)  # what → in how many samples
        self.loads: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="neighbours", daemon=True)

    def __enter__(self) -> "Neighbours":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            self.samples += 1
            with suppress(OSError, ValueError, IndexError):
                self.loads.append(float(load_average()))
            found = set()
            for entry in os.listdir("/proc"):
                if not entry.isdigit() or int(entry) == os.getpid():
                    continue
                with suppress(OSError):
                    line = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
                    text = line.decode(errors="replace")
                    found |= {p.strip("/") for p in self.PATTERNS if p in text}
            for what in found:
                self.seen[what] += 1

    def summary(self) -> str:
        if not self.seen:
            return f"nothing else seen running ({self.samples} looks, one a second)"
        named = ", ".join(f"{what} in {n}" for what, n in sorted(self.seen.items()))
        return f"{named} of {self.samples} looks (one a second)"


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except OSError:
        return "not found"
    return ((done.stdout or done.stderr).strip().splitlines() or ["?"])[0]


def machine(load_before: str, scratch: str, neighbours: Neighbours) -> dict[str, str]:
    revision = commit()
    revision = f"{revision} + uncommitted changes" if revision and uncommitted() else revision
    return {
        **host(),
        "OpenSSH": _first_line(["ssh", "-V"]),
        "paramiko": metadata.version("paramiko"),
        "rsync": _first_line(["rsync", "--version"]),
        "git": _first_line(["git", "--version"]),
        "SQLite": sqlite3.sqlite_version,
        "hosts' directories": filesystem(scratch),
        "commit": revision or "unknown",
        "load average (1 min) before / highest / after": (
            f"{load_before} / {max(neighbours.loads, default=0):.2f} / {load_average()}"
        ),
        "other work during the run": neighbours.summary(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
