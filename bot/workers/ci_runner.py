"""The built-in CI runner: each queued revision tested in a clean worktree, one at a time.

For a team without a CI service, on one machine: ``andon ci install`` makes the repository's
post-receive hook queue every pushed branch head, and ``andon serve`` runs ``[ci.local] command``
at each of them and records the result exactly as a webhook's would be recorded. The command is
the operator's configuration, run by ``/bin/sh`` in the build's jail (``bot.workers.jail``): what it
runs is the repository's code. The revision it runs at was validated as a sha when it was queued.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.workers.jail import Ending, JailRefusedError, jail_for
from core.ci import queue
from core.ci.junit import MAX_BYTES, failing_tests
from core.ci.report import BadReportError, BuildReport, BuildStatus, FailedTest
from core.config.file import LocalCiConfig

if TYPE_CHECKING:
    from bot.andon import Andon
    from storage.tables import CiJob

log = logging.getLogger(__name__)

PROVIDER = PIPELINE = "local"
LEASE = timedelta(seconds=60)  # renewed while the command runs; a crashed runner's job waits this
RENEW_EVERY = 15.0
POLL = 1.0  # the hook queues from another process: look for work this often
GIT_TIMEOUT = 120.0
JOIN_TIMEOUT = 15.0
TAIL_LINES = 20
TAIL_CHARS = 3000
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_SECRET_PREFIXES = ("GIT_", "ANDON_", "SLACK_")  # git runs without Andon's settings


_Commit = tuple[str | None, str | None, str | None]  # author, e-mail, subject


@dataclass(frozen=True)
class _Outcome:
    status: BuildStatus
    failed_tests: tuple[FailedTest, ...]
    duration: timedelta | None


class LocalRunner:
    """A daemon thread that claims one queued job at a time and records what the command said."""

    def __init__(self, andon: Andon) -> None:
        ci = andon.config.ci
        if ci is None or ci.local is None:
            raise ValueError("the local runner needs [ci.local] in andon.toml")
        self._andon = andon
        self._local: LocalCiConfig = ci.local
        self._jail = andon.jail or jail_for(andon.config)
        self._repo = str(Path(andon.config.repo.path).expanduser()) if andon.config.repo else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._repo is None:
            log.error("[ci.local] is configured but [repo] path is not: the local runner is off")
            return
        self._thread = threading.Thread(target=self._run, name="andon-ci-runner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current job; a running command is killed and its job retried later."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=JOIN_TIMEOUT)

    def run_once(self) -> bool:
        """Claim the next job and run it to a recorded result; False when nothing is waiting."""
        clock = self._andon.clock
        with self._andon.database.writing() as session:
            job = queue.claim(session, clock=clock, lease=LEASE)
        if job is None:
            return False
        assert job.id is not None
        log.info("local CI: job %s tests %s (%s)", job.id, job.revision[:7], job.branch)
        commit = _commit(self._repo, job.revision)
        outcome = self._test(job, commit)
        if outcome is None:
            log.info("local CI: job %s interrupted; it runs again after a restart", job.id)
            return True
        self._record(job, commit, outcome.status, outcome)
        with self._andon.database.writing() as session:
            queue.finish(session, clock=clock, job_id=job.id)
        log.info("local CI: job %s %s on %s", job.id, outcome.status, job.revision[:7])
        return True

    # --- the thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        assert self._repo is not None
        _git(self._repo, "worktree", "prune")  # what a crash left behind
        while not self._stop.is_set():
            try:
                ran = self.run_once()
            except Exception:
                log.exception("the local CI runner failed; the job is retried when its lease ends")
                ran = False
            if not ran:
                self._stop.wait(POLL)

    # --- one job -------------------------------------------------------------------------------

    def _test(self, job: CiJob, commit: _Commit) -> _Outcome | None:
        """Record that it runs, run it in a worktree of its own, and always remove the worktree."""
        assert self._repo is not None
        self._record(job, commit, BuildStatus.RUNNING, None)
        with tempfile.TemporaryDirectory(prefix="andon-ci-", ignore_cleanup_errors=True) as scratch:
            tree = Path(scratch) / "tree"
            try:
                added = _git(self._repo, "worktree", "add", "--detach", str(tree), job.revision)
                if added.returncode == 0:
                    outcome = self._command(tree, job=job)
                else:
                    said = _trim(added.stderr) or f"git exited with status {added.returncode}"
                    message = f"could not check out {job.revision[:7]}: {said}"
                    outcome = _Outcome(BuildStatus.FAILED, (FailedTest("checkout", message),), None)
            finally:
                _git(self._repo, "worktree", "remove", "--force", str(tree))
        _git(self._repo, "worktree", "prune")
        return outcome

    def _command(self, tree: Path, *, job: CiJob) -> _Outcome | None:
        """Run the command in the build's jail: it is the repository's code, whoever wrote it."""
        local = self._local
        renew_at = time.monotonic() + RENEW_EVERY

        def keep_going() -> bool:
            """Renew the lease while it runs; stop it when Andon stops."""
            nonlocal renew_at
            if time.monotonic() >= renew_at:
                renew_at = time.monotonic() + RENEW_EVERY
                self._renew(job)
            return not self._stop.is_set()

        try:
            ran = self._jail.run(
                local.command, cwd=tree, timeout=local.timeout, keep_going=keep_going
            )
        except JailRefusedError as refused:
            failed = FailedTest("command", f"was not run: {refused}")
            return _Outcome(BuildStatus.FAILED, (failed,), None)
        except OSError as cannot:
            failed = FailedTest("command", f"could not be started: {cannot}")
            return _Outcome(BuildStatus.FAILED, (failed,), None)
        tail = _trim(ran.output)
        if ran.ending is Ending.STOPPED or (self._stop.is_set() and not ran.ok):
            return None  # killed by stop(): not the commit's fault, so not its result
        if ran.cut_off is not None:
            message = f"{ran.cut_off}; its last output:\n{tail}" if tail else f"{ran.cut_off}."
            return _Outcome(BuildStatus.FAILED, (FailedTest("command", message),), ran.duration)
        if ran.ok:
            return _Outcome(BuildStatus.PASSED, (), ran.duration)
        failed = self._junit(tree) or (FailedTest("command", _said(ran.status, tail)),)
        return _Outcome(BuildStatus.FAILED, failed, ran.duration)

    def _renew(self, job: CiJob) -> None:
        try:
            with self._andon.database.writing() as session:
                mine = queue.renew(session, clock=self._andon.clock, job=job, lease=LEASE)
            if not mine:
                log.warning("local CI: job %s was claimed by another runner", job.id)
        except Exception:
            log.exception("local CI: could not renew the lease of job %s", job.id)

    def _junit(self, tree: Path) -> tuple[FailedTest, ...]:
        """The failing tests the command's JUnit file names; none when there is no such file."""
        if not self._local.junit_path:
            return ()
        path = tree / self._local.junit_path
        try:
            if not path.resolve().is_relative_to(tree.resolve()):
                return ()  # a link out of the tree: the command's code chose where it points
            if not path.is_file() or path.stat().st_size > MAX_BYTES:
                return ()
            return failing_tests(path.read_bytes())
        except (OSError, BadReportError) as unreadable:
            log.warning("local CI: %s is not usable JUnit XML: %s", path, unreadable)
            return ()

    def _record(
        self, job: CiJob, commit: _Commit, status: BuildStatus, outcome: _Outcome | None
    ) -> None:
        author, email, subject = commit
        report = BuildReport(
            provider=PROVIDER,
            pipeline=PIPELINE,
            run_id=f"job-{job.id}",
            revision=job.revision,
            branch=job.branch,
            status=status,
            duration=outcome.duration if outcome else None,
            failed_tests=outcome.failed_tests if outcome else (),
            author_name=author,
            author_email=email,
            subject=subject,
            finished_at=self._andon.clock.now() if outcome else None,
        )
        self._andon.record_ci(report, delivery=None)


# --- the world outside: git, processes, files --------------------------------------------------


def _clean_env(prefixes: tuple[str, ...]) -> dict[str, str]:
    """A hook or a test's ``GIT_DIR`` must not redirect git, and git needs none of Andon's."""
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def _git(repo: str, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "-C", repo, *args],
            env=_clean_env(_SECRET_PREFIXES),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=GIT_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired) as broken:
        return subprocess.CompletedProcess(["git", *args], 1, "", str(broken))


def _commit(repo: str | None, revision: str) -> _Commit:
    """Author, e-mail and subject, as the channel shows them beside a red build."""
    if repo is None:
        return None, None, None
    shown = _git(repo, "show", "-s", "--format=%an%x00%ae%x00%s", revision)
    parts = shown.stdout.rstrip("\n").split("\x00")
    if shown.returncode != 0 or len(parts) != 3:
        return None, None, None
    return parts[0] or None, parts[1] or None, parts[2] or None


def _trim(text: str) -> str:
    lines = [line.rstrip() for line in _ANSI.sub("", text).splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    kept = "\n".join(lines[-TAIL_LINES:]).strip("\n")
    return kept if len(kept) <= TAIL_CHARS else "…" + kept[-(TAIL_CHARS - 1) :]


def _said(returncode: int | None, tail: str) -> str:
    if not tail:
        if returncode is not None and returncode < 0:
            return f"killed by signal {-returncode}, without output"
        return f"exited with status {returncode}, without output"
    return tail
