"""Runs the real ``andon`` in its own process (``serve`` and the CLI) for the tests to talk to:
forked from a preloaded interpreter (tests/preloaded.py), or new with ``TESTS_COLD_START=1``."""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import requests

from storage import migrate
from storage.database import Database
from tests import preloaded
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.slack_requests import SIGNING_SECRET, signed_headers, slash_command
from tests.waiting import eventually

API_TOKEN = "test-api-token-7c2e91"
WEBHOOK_SECRET = "test-webhook-secret-a81f"
CHANNEL = "C0LINE001"
# "setup" may force the line to start: scenarios reset it without a five whys each time.
DEFAULT_CONFIG = f'[slack]\nchannel = "{CHANNEL}"\n[access]\nadmins = ["setup"]\n'
RESET = ("line", "start", "--force", "the next scenario", "--as", "setup")
STOP_WAIT = 30.0  # seconds: andon serve's default stop_grace is 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def andon_env(
    workdir: Path, *, database_url: str, slack: FakeSlack | None, port: int | None = None
) -> dict[str, str]:
    """The environment of an operator's shell: only Andon's variables, nothing inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ANDON_"))}
    env.update(
        ANDON_DATABASE_URL=database_url,
        ANDON_CONFIG=str(workdir / "andon.toml"),
        ANDON_HTTP_HOST="127.0.0.1",
        ANDON_HTTP_PORT=str(port or free_port()),
        ANDON_API_TOKEN=API_TOKEN,
        ANDON_WEBHOOK_SECRET=WEBHOOK_SECRET,
        PYTHONUNBUFFERED="1",
    )
    if slack is not None:
        env.update(
            SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack.url
        )
    return env


def upgraded(database_url: str) -> str:
    """A database as ``andon serve`` (or ``andon db upgrade``) leaves it, for CLI scenarios: a
    new SQLite file is a copy of one migrated once per test process (migrating costs as much as
    a forked server's whole start; tests/test_cli.py, test_serve.py and test_replicas_migrate.py
    watch Andon migrate for itself)."""
    if _placed_migrated(database_url):
        return database_url
    database = Database(database_url)
    try:
        migrate.upgrade(database)
    finally:
        database.dispose()
    return database_url


def _placed_migrated(database_url: str) -> bool:
    """Whether ``database_url`` named a SQLite file not there yet, now a migrated copy (a relative
    path is the command's own to resolve, where it runs: left alone)."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix):
        return False
    path = Path(database_url.removeprefix(prefix))
    if not path.is_absolute() or path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_migrated_sqlite(), path)
    return True


@cache
def _migrated_sqlite() -> Path:
    """Migrated by Andon's own migrations, once per test process; removed as the process ends."""
    folder = Path(tempfile.mkdtemp(prefix="andon-migrated-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    database = Database(f"sqlite:///{folder / 'andon.db'}")
    try:
        migrate.upgrade(database)
    finally:
        database.dispose()
    return folder / "andon.db"


def run_cli(args: list[str], *, env: dict[str, str], cwd: Path, stdin: str = "") -> Any:
    """``andon *args`` run to its end (forked from a preloaded interpreter: tests/preloaded.py)."""
    return preloaded.run(args, env=env, cwd=cwd, stdin=stdin, timeout=60)


class AndonServer:
    """``andon serve`` in its own process, on a free loopback port, stopped by the test."""

    def __init__(
        self,
        workdir: Path,
        *,
        database_url: str,
        slack: FakeSlack | None,
        config: str | None = None,
        migrated: bool = True,
    ) -> None:
        """``migrated``: a new SQLite database starts as ``andon serve`` left it on an earlier
        run (``upgraded``); ``False`` for a scenario about the first start itself."""
        self.workdir = workdir
        self.migrated = migrated
        self.slack = slack
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "andon.toml").write_text(config if config is not None else DEFAULT_CONFIG)
        self.env = andon_env(workdir, database_url=database_url, slack=slack)
        self.url = f"http://127.0.0.1:{self.env['ANDON_HTTP_PORT']}"
        self.log_path = workdir / "serve.log"
        self._process: preloaded.Process | None = None

    def start(self, *, stdin: int | None = subprocess.DEVNULL) -> "AndonServer":
        if self.migrated:
            _placed_migrated(self.env["ANDON_DATABASE_URL"])
        self._log = self.log_path.open("a")
        self._process = preloaded.start(
            ["serve"],
            env=self.env,
            cwd=self.workdir,
            stdin=stdin,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_healthy()
        return self

    def stop(self, sig: signal.Signals = signal.SIGTERM, *, graceful: bool = True) -> None:
        """Stopped as systemd, Docker and Kubernetes stop it (SIGTERM; Ctrl-C is SIGINT): it must
        exit 0 within its stop_grace (20 s), whatever the test left it doing. ``graceful=False``:
        an older Andon a benchmark compares with, from before it stopped cleanly on a signal."""
        ended = "exited 0"
        if self._process and self._process.poll() is None:
            self._process.send_signal(sig)
            try:
                ended = f"exited {self._process.wait(timeout=STOP_WAIT)}"
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
                ended = f"was still running {STOP_WAIT:g} s later"
        self._log.close()
        assert ended == "exited 0" or not graceful, (
            f"andon serve, sent {sig.name}, {ended}:\n{self.log()[-4000:]}"
        )

    @property
    def process(self) -> preloaded.Process:
        assert self._process is not None
        return self._process

    def log(self) -> str:
        return self.log_path.read_text()

    def _wait_healthy(self, timeout: float = 60.0) -> None:
        eventually(
            self._healthy,
            timeout=timeout,
            what=lambda: f"andon serve answering /healthz:\n{self.log()}",
        )

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"andon serve exited {self.process.returncode}:\n{self.log()}")
        try:
            return requests.get(self.url + "/healthz", timeout=1).status_code == 200
        except (requests.ConnectionError, requests.Timeout):  # a busy machine answers late
            return False

    # --- talking to it -------------------------------------------------------------------------

    def api(self, path: str, *, token: str | None = API_TOKEN) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(self.url + path, headers=headers, timeout=10)

    def slack_post(
        self,
        body: bytes,
        content_type: str,
        *,
        headers: dict | None = None,
        retry_num: int | None = None,
    ) -> requests.Response:
        """POST to ``/slack/events`` signed correctly unless ``headers`` says otherwise."""
        signed = signed_headers(body) if headers is None else headers
        sent = {"Content-Type": content_type, **signed}
        if retry_num is not None:
            sent.update(
                {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
            )
        answer = requests.post(self.url + "/slack/events", data=body, headers=sent, timeout=10)
        shown = answer.status_code == 200 and "json" in answer.headers.get("content-type", "")
        if self.slack is not None and shown:
            self.slack.judge_ack(answer.json())
        return answer

    def open_stoppage(self, timeout: float = 10.0) -> dict[str, Any]:
        """The open stoppage once its announcement was delivered (its thread ``ts`` known)."""

        def delivered() -> dict[str, Any] | None:
            stoppage = self.api("/api/line").json()["stoppage"]
            return stoppage if stoppage and stoppage["thread_ts"] else None

        return eventually(
            delivered,
            timeout=timeout,
            what=lambda: f"a delivered open stoppage: {self.api('/api/line').json()['stoppage']}",
        )

    def cli(self, *args: str, stdin: str = "") -> Any:
        return run_cli(list(args), env=self.env, cwd=self.workdir, stdin=stdin)

    def reset(self) -> None:
        """The next scenario starts on a running line: an admin's forced start when the last one
        left it stopped (asking costs nothing). With Slack, typed in Slack — a signed request
        to the running server, where a CLI run costs a second or more of CPU — and the reset is
        done once everything it queued has reached Slack, as when the CLI delivered it itself."""
        if self.api("/api/line").json()["state"] == "running":
            return
        if self.slack is None:
            started = self.cli(*RESET)
            assert started.returncode == 0, started.stderr
            return
        body, kind = slash_command(
            "/line",
            f"start force {RESET[3]}",
            user=RESET[-1],
            name=RESET[-1],
            response_url=self.slack.response_url("reset"),
        )
        answer = self.slack_post(body, kind)
        assert answer.status_code == 200, answer.text
        eventually(
            lambda: self.api("/api/line").json()["state"] == "running" and not self.pending(),
            what=lambda: f"the forced start delivered: {self.api('/api/line').json()}",
        )

    def pending(self) -> int:
        """Chat messages queued and not yet accepted by Slack (``/metrics``)."""
        metrics = requests.get(self.url + "/metrics", timeout=10).text
        (line,) = [m for m in metrics.splitlines() if m.startswith("andon_outbox_pending ")]
        return int(float(line.split()[1]))


def slack_server(workdir: Path, slack: FakeSlack) -> AndonServer:
    """A running ``andon serve`` on a fresh SQLite database, talking to the fake Slack."""
    return AndonServer(
        workdir, database_url=f"sqlite:///{workdir / 'andon.db'}", slack=slack
    ).start()
