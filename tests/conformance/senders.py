"""Real senders run as child processes on loopback: each started, waited on and stopped with
bounds, and skipped with the reason when its program is not installed."""

import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

STOP_WAIT = 15.0


def program(name: str, *, install: str) -> str:
    """The program's absolute path, or the test is skipped saying how to get it."""
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed ({install})")
    return found


class Child:
    """A sender's process, its output in a log file, stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, args: list[str], *, log: Path, cwd: Path, env: dict[str, str]) -> None:
        self.log_path = log
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_WAIT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_WAIT)
        self._log.close()
