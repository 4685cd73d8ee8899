"""The built-in CI for a team without one: ``andon ci install`` hooks a real bare repository, a
real ``git push`` queues the revision, and a running ``andon serve`` tests it in a clean worktree
with the repository's own ``check.sh`` — red stops the line, green says "fixed" in its thread."""

import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from core.ci import queue
from core.clock import ManualClock
from storage.database import Database
from storage.tables import CiJob
from tests.fakes.slack import FakeSlack
from tests.git_server import GitWorkspace
from tests.harness import CHANNEL, AndonServer, andon_env, run_cli
from tests.waiting import eventually

ZERO = "0" * 40
SHA = "3f2a9c1" + "0" * 33
OTHER_SHA = "b" * 40

FAILING_CHECK = """#!/bin/sh
echo "running 2 tests"
cat > report.xml <<'XML'
<testsuite name="app" tests="2" failures="1">
  <testcase classname="tests.test_signup" name="test_welcome_mail_is_sent">
    <failure message="expected 1 mail, got 0">AssertionError: expected 1 mail, got 0</failure>
  </testcase>
  <testcase classname="tests.test_signup" name="test_signup_page_renders"/>
</testsuite>
XML
echo "1 failed, 1 passed"
exit 1
"""

PASSING_CHECK = """#!/bin/sh
echo "running 2 tests"
cat > report.xml <<'XML'
<testsuite name="app" tests="2" failures="0">
  <testcase classname="tests.test_signup" name="test_welcome_mail_is_sent"/>
  <testcase classname="tests.test_signup" name="test_signup_page_renders"/>
</testsuite>
XML
echo "2 passed"
"""


class Developer(GitWorkspace):
    """Maria's clone of the repository the local runner tests."""

    def __init__(self, root: Path, *, name: str) -> None:
        super().__init__(root, name=name, author=("Maria Lopez", "maria@example.com"), env={})

    def commit(self, subject: str, files: dict[str, str]) -> str:
        for name, text in files.items():
            (self.clone / name).write_text(text)
        self.git("add", *files)
        self.git("commit", "-q", "-m", subject)
        return self.git("rev-parse", "HEAD").strip()

    def push(self, **env: str) -> str:
        """``git push`` as the pusher sees it: the hook's output comes back prefixed ``remote:``."""
        done = subprocess.run(
            ["git", "push", "origin", "HEAD:main"],
            cwd=self.clone,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    def worktrees(self) -> int:
        return self.git("worktree", "list", "--porcelain", cwd=self.bare).count("worktree ")


# The command runs the repository's code: as root, only as a user of its own.
BUILD_USER = '[build]\nuser = "nobody"\n' if os.geteuid() == 0 else ""


def runner_config(bare: Path, *, command: str = "sh check.sh", timeout: str = "60s") -> str:
    return f"""
[slack]
channel = "{CHANNEL}"

[repo]
path = "{bare}"
branch = "main"

[ci.local]
command = "{command}"
timeout = "{timeout}"
junit_path = "report.xml"

{BUILD_USER}"""


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder the command may write to whoever it runs as (the build user, as root)."""
    folder = Path(tempfile.mkdtemp(prefix="andon-test-shared-"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def dev(tmp_path: Path) -> Developer:
    return Developer(tmp_path / "git", name="app")


@pytest.fixture
def serving(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Callable[..., AndonServer]]:
    """``andon serve`` with the local runner on, stopped at the end whatever happened."""
    started: list[AndonServer] = []

    def start(config: str) -> AndonServer:
        workdir = tmp_path / "andon"
        server = AndonServer(
            workdir,
            database_url=f"sqlite:///{workdir / 'andon.db'}",
            slack=fake_slack,
            config=config,
        )
        started.append(server.start())
        return server

    yield start
    for server in started:
        server.stop()


def posted(slack: FakeSlack, starts: str, *, timeout: float = 90.0) -> dict[str, Any]:
    calls = slack.wait_for(
        "chat.postMessage",
        lambda p: str(p.get("text", "")).startswith(starts),
        timeout=timeout,
    )
    return calls[0].params


def stopped_line(server: AndonServer) -> dict[str, Any] | None:
    """The stopped line once its stoppage thread is open in Slack (it has a ``ts`` then)."""
    now = server.api("/api/line").json()
    opened = now["state"] == "stopped" and now["stoppage"]["thread_ts"]
    return now if opened else None


# --- through the real programs: install, push, serve -------------------------------------------


def test_a_red_push_stops_the_line_and_the_green_one_says_fixed_in_its_thread(
    dev: Developer, serving: Callable[..., AndonServer], fake_slack: FakeSlack
) -> None:
    server = serving(runner_config(dev.bare))
    installed = server.cli("ci", "install", str(dev.bare))
    assert installed.returncode == 0, installed.stderr
    red = dev.commit("Send the welcome mail on signup", {"check.sh": FAILING_CHECK})

    pushed = dev.push()

    assert f"andon: queued {red[:7]} (main) for the local CI runner" in pushed
    failed = posted(fake_slack, f"CI failed on {red[:7]}")
    shown = json.dumps(failed)
    assert failed["channel"] == CHANNEL
    assert "tests.test_signup::test_welcome_mail_is_sent" in shown
    assert "expected 1 mail, got 0" in shown
    assert "Send the welcome mail on signup" in shown
    assert "Maria Lopez" in shown
    line = eventually(
        lambda: stopped_line(server),
        timeout=60,
        every=0.1,
        what="the line to stop, its thread open",
    )
    assert [c["text"] for c in line["stoppage"]["causes"]] == [f"CI failed on {red[:7]}"]
    assert dev.worktrees() == 1, "the runner's worktree was left behind"

    green = dev.commit("Send the welcome mail again", {"check.sh": PASSING_CHECK})
    pushed = dev.push()

    assert f"andon: queued {green[:7]} (main) for the local CI runner" in pushed
    fixed = posted(fake_slack, f"Fixed by {green[:7]}")
    assert fixed["thread_ts"] == line["stoppage"]["thread_ts"]
    answer = server.cli("ci", "status", green[:10])
    assert answer.returncode == 0, answer.stderr
    assert f"{green[:7]} is green" in answer.stdout
    assert "local" in answer.stdout
    assert dev.worktrees() == 1


def test_a_command_past_its_time_limit_is_killed_and_fails_saying_it_timed_out(
    dev: Developer, serving: Callable[..., AndonServer], fake_slack: FakeSlack, shared: Path
) -> None:
    pid_file = shared / "sleeper.pid"
    slow = f'echo "waiting for the database"\nsleep 30 &\necho $! > "{pid_file}"\nwait\n'
    server = serving(runner_config(dev.bare, timeout="2s"))
    assert server.cli("ci", "install", str(dev.bare)).returncode == 0
    revision = dev.commit("Wait for the database", {"check.sh": slow})

    dev.push()

    failed = json.dumps(posted(fake_slack, f"CI failed on {revision[:7]}"))
    assert "timed out after 2 s" in failed
    assert "waiting for the database" in failed
    sleeper = int(pid_file.read_text())
    eventually(
        lambda: not _alive(sleeper), timeout=10, every=0.1, what="the command's child to be killed"
    )
    assert dev.worktrees() == 1


def test_stopping_andon_serve_kills_the_running_command_and_leaves_its_job_for_the_next_start(
    dev: Developer, serving: Callable[..., AndonServer], shared: Path
) -> None:
    pid_file = shared / "sleeper.pid"
    slow = f'sleep 30 &\necho $! > "{pid_file}"\nwait\n'
    server = serving(runner_config(dev.bare))
    assert server.cli("ci", "install", str(dev.bare)).returncode == 0
    revision = dev.commit("Wait for the database", {"check.sh": slow})
    dev.push()
    sleeper = int(
        eventually(
            lambda: pid_file.exists() and pid_file.read_text().strip(),
            timeout=60,
            every=0.1,
            what="the command to write its child's pid",
        )
    )

    server.stop()

    assert server.process.returncode == 0, server.log()
    eventually(
        lambda: not _alive(sleeper), timeout=10, every=0.1, what="the command's child to be killed"
    )
    assert _jobs(server.env["ANDON_DATABASE_URL"]) == [(revision, "running")]
    assert "CI failed" not in server.log() and "Traceback" not in server.log()
    assert dev.worktrees() == 1


def _alive(pid: int) -> bool:
    """A killed process may linger as a zombie until something reaps it: that one is dead."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return status.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def test_a_post_receive_hook_already_there_keeps_running_with_the_same_input(
    dev: Developer, tmp_path: Path
) -> None:
    saw = tmp_path / "mirror-saw.txt"
    hooks = dev.bare / "hooks"
    (hooks / "post-receive").write_text(f'#!/bin/sh\ncat > "{saw}"\necho "mirror: pushed on"\n')
    (hooks / "post-receive").chmod(0o755)
    ops = _operator(tmp_path, dev.bare)

    first = run_cli(["ci", "install", str(dev.bare)], env=ops, cwd=tmp_path)
    again = run_cli(["ci", "install", str(dev.bare)], env=ops, cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert "kept as" in first.stdout
    assert again.returncode == 0, again.stderr
    assert "mirror: pushed on" in (hooks / "post-receive.chained").read_text()
    revision = dev.commit("First commit", {"check.sh": PASSING_CHECK})
    pushed = dev.push()
    assert "mirror: pushed on" in pushed
    assert f"andon: queued {revision[:7]} (main)" in pushed
    assert saw.read_text() == f"{ZERO} {revision} refs/heads/main\n"
    assert pushed.count("andon: queued") == 1


def test_the_installed_hook_is_executable_and_names_andon_and_the_database_absolutely(
    dev: Developer, tmp_path: Path
) -> None:
    ops = _operator(tmp_path, dev.bare)
    ops["ANDON_DATABASE_URL"] = "sqlite:///./andon.db"

    done = run_cli(["ci", "install", str(dev.bare)], env=ops, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    hook = dev.bare / "hooks" / "post-receive"
    assert hook.stat().st_mode & 0o777 == 0o755
    assert os.access(hook, os.X_OK)
    text = hook.read_text()
    assert f"sqlite:///{tmp_path / 'andon.db'}" in text
    assert str(tmp_path / "andon.toml") in text


def test_a_variable_set_where_the_hook_runs_wins_over_the_recorded_one(
    dev: Developer, tmp_path: Path
) -> None:
    ops = _operator(tmp_path, dev.bare)
    assert run_cli(["ci", "install", str(dev.bare)], env=ops, cwd=tmp_path).returncode == 0
    elsewhere = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    upgraded = run_cli(
        ["db", "upgrade"], env={**ops, "ANDON_DATABASE_URL": elsewhere}, cwd=tmp_path
    )
    assert upgraded.returncode == 0, upgraded.stderr
    revision = dev.commit("First commit", {"check.sh": PASSING_CHECK})

    pushed = dev.push(ANDON_DATABASE_URL=elsewhere)

    assert f"andon: queued {revision[:7]}" in pushed
    assert _queued(elsewhere) == [revision]
    assert _queued(ops["ANDON_DATABASE_URL"]) == []


def test_installing_into_a_folder_that_is_not_a_repository_is_refused(tmp_path: Path) -> None:
    ops = andon_env(tmp_path, database_url=f"sqlite:///{tmp_path / 'a.db'}", slack=None)
    (tmp_path / "plain").mkdir()

    done = run_cli(["ci", "install", str(tmp_path / "plain")], env=ops, cwd=tmp_path)

    assert done.returncode == 2
    assert "is not a git repository" in done.stderr
    assert not (tmp_path / "plain" / "hooks").exists()


def test_a_hook_that_cannot_reach_the_database_warns_the_pusher_and_lets_the_push_through(
    dev: Developer, tmp_path: Path
) -> None:
    ops = _operator(tmp_path, dev.bare, migrate=False)
    assert run_cli(["ci", "install", str(dev.bare)], env=ops, cwd=tmp_path).returncode == 0
    revision = dev.commit("First commit", {"check.sh": PASSING_CHECK})

    pushed = dev.push()  # the database has no tables: nothing can be queued

    assert f"andon: warning: could not queue {revision[:7]} (main)" in pushed
    assert dev.git("rev-parse", "main", cwd=dev.bare).strip() == revision


def test_enqueue_reads_what_git_sends_and_queues_only_branch_heads(tmp_path: Path) -> None:
    ops = _operator(tmp_path, tmp_path / "app.git")
    pushed = "\n".join(
        [
            f"{ZERO} {SHA} refs/heads/main",
            f"{SHA} {ZERO} refs/heads/old-feature",  # deleted: nothing to test
            f"{ZERO} {OTHER_SHA} refs/tags/v1.0",  # a tag is not a branch
            f"{ZERO} {SHA} refs/heads/main",  # the same again: queued once
        ]
    )

    done = run_cli(["ci", "enqueue"], env=ops, cwd=tmp_path, stdin=pushed + "\n")

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "andon: queued 3f2a9c1 (main) for the local CI runner",
        "andon: 3f2a9c1 (main) is already queued for the local CI runner",
    ]
    assert _queued(ops["ANDON_DATABASE_URL"]) == [SHA]


def _operator(workdir: Path, bare: Path, *, migrate: bool = True) -> dict[str, str]:
    """An operator's shell on the git server, with ``[ci.local]`` configured."""
    env = andon_env(workdir, database_url=f"sqlite:///{workdir / 'andon.db'}", slack=None)
    (workdir / "andon.toml").write_text(runner_config(bare))
    if migrate:
        upgraded = run_cli(["db", "upgrade"], env=env, cwd=workdir)
        assert upgraded.returncode == 0, upgraded.stderr
    return env


def _jobs(url: str) -> list[tuple[str, str]]:
    database = Database(url)
    try:
        with database.reading() as session:
            rows = session.exec(select(CiJob.revision, CiJob.status).order_by(col(CiJob.id)))
            return [tuple(row) for row in rows]
    finally:
        database.dispose()


def _queued(url: str) -> list[str]:
    database = Database(url)
    try:
        with database.reading() as session:
            return list(session.exec(select(CiJob.revision).order_by(col(CiJob.id))))
    finally:
        database.dispose()


# --- the queue, in-process, on both databases ---------------------------------------------------

START = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def _enqueue(db: Database, clock: ManualClock, revision: str, branch: str = "main") -> bool:
    with db.writing() as session:
        return queue.enqueue(session, clock=clock, revision=revision, branch=branch)


def _claim(db: Database, clock: ManualClock) -> CiJob | None:
    with db.writing() as session:
        return queue.claim(session, clock=clock, lease=LEASE)


@pytest.mark.parametrize(
    "bad", ["3f2a9c1", SHA.upper(), SHA + "0", SHA + "\n", "g" * 40, f"-{SHA[1:]}"]
)
def test_only_a_full_lower_case_sha_can_be_queued(database: Database, bad: str) -> None:
    with pytest.raises(ValueError, match="40-hex"):
        _enqueue(database, ManualClock(START), bad)


def test_a_revision_is_queued_again_only_once_its_run_is_done(database: Database) -> None:
    clock = ManualClock(START)
    assert _enqueue(database, clock, SHA)
    assert not _enqueue(database, clock, SHA)
    job = _claim(database, clock)
    assert job is not None
    assert not _enqueue(database, clock, SHA), "a running revision is not queued twice"
    assert _enqueue(database, clock, SHA, branch="feature"), "another branch is its own result"
    with database.writing() as session:
        queue.finish(session, clock=clock, job_id=job.id)
    assert _enqueue(database, clock, SHA)


def test_jobs_are_claimed_oldest_first_and_a_crashed_runners_job_is_claimed_again(
    database: Database,
) -> None:
    clock = ManualClock(START)
    _enqueue(database, clock, SHA)
    _enqueue(database, clock, OTHER_SHA)

    first = _claim(database, clock)
    second = _claim(database, clock)
    assert first is not None and second is not None
    assert (first.revision, second.revision) == (SHA, OTHER_SHA)
    assert first.status == "running" and first.claimed_until == START + LEASE
    assert _claim(database, clock) is None

    clock.advance(timedelta(seconds=30))
    with database.writing() as session:
        assert queue.renew(session, clock=clock, job=second, lease=LEASE)
    clock.advance(timedelta(seconds=31))  # the first runner stopped renewing: it crashed
    retried = _claim(database, clock)

    assert retried is not None and retried.id == first.id
    assert _claim(database, clock) is None, "the second runner's lease is still alive"
    with database.writing() as session:
        assert not queue.renew(session, clock=clock, job=first, lease=LEASE)
        queue.finish(session, clock=clock, job_id=retried.id)
    clock.advance(timedelta(hours=1))
    assert _claim(database, clock).id == second.id  # type: ignore[union-attr]
    assert _claim(database, clock) is None, "a finished job is never claimed again"


def test_runners_racing_for_the_queue_never_take_one_job_twice(database: Database) -> None:
    clock = ManualClock(START)
    revisions = [f"{n:040x}" for n in range(1, 31)]
    for revision in revisions:
        _enqueue(database, clock, revision)
    taken: list[int] = []
    lock = threading.Lock()
    go = threading.Barrier(4)

    def runner() -> None:
        go.wait()
        while (job := _claim(database, clock)) is not None:
            with lock:
                taken.append(job.id)  # type: ignore[arg-type]

    threads = [threading.Thread(target=runner) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(taken) == sorted(set(taken))
    assert len(taken) == len(revisions)
