"""A line guarding a real bare repository with the commit check, for the gate's scenarios
(tests/test_gate*.py): Dana's clone, the line's andon.toml, one ``andon serve`` per module for the
default settings (``line_server``) or one of a test's own (``serving``), and what the pusher reads.
"""

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.slack import FakeSlack
from tests.git_server import GitWorkspace
from tests.harness import CHANNEL, AndonServer, run_cli

REFUSED_MAIN = "! [remote rejected] main -> main (pre-receive hook declined)"


class Developer(GitWorkspace):
    """Dana's clone of the repository the gate guards; she pushes as ``dana``."""

    def __init__(self, root: Path) -> None:
        super().__init__(
            root,
            author=("Dana Kim", "dana@example.com"),
            env={"USER": "dana", "LOGNAME": "dana"},
        )

    def commit(self, message: str, files: dict[str, str] | None = None) -> str:
        for name, text in (files if files is not None else {"app.py": message}).items():
            (self.clone / name).parent.mkdir(parents=True, exist_ok=True)
            (self.clone / name).write_text(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def push(
        self, *refspecs: str, options: tuple[str, ...] = (), **env: str
    ) -> subprocess.CompletedProcess[str]:
        """``git push`` as the pusher sees it; the hook's words come back prefixed ``remote:``."""
        flags = [arg for option in options for arg in ("-o", option)]
        return subprocess.run(
            ["git", "push", *flags, "origin", *(refspecs or ("main",))],
            cwd=self.clone,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def head(self, branch: str = "main") -> str | None:
        found = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
            cwd=self.bare,
            env=self.env,
            capture_output=True,
            text=True,
        )
        return found.stdout.strip() or None


def line_config(bare: Path, extra: str = "") -> str:
    """The line guarding ``bare``; "setup" is an admin too, so that the module's shared server
    can be put back on a running line between tests (``AndonServer.reset``)."""
    return f"""
[slack]
channel = "{CHANNEL}"

[access]
admins = ["maria", "setup"]

[repo]
path = "{bare}"
branch = "main"
{extra}"""


@pytest.fixture(scope="module")
def gate_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the repository lives for the whole module: the shared server's ``[repo] path``."""
    return tmp_path_factory.mktemp("gate")


@pytest.fixture
def dev(gate_root: Path) -> Developer:
    """A new bare repository and clone for each test, at the one path the servers know."""
    root = gate_root / "git"
    if root.exists():
        shutil.rmtree(root)
    return Developer(root)


@pytest.fixture(scope="module")
def line_server(gate_root: Path, fake_slack: FakeSlack) -> Iterator[AndonServer]:
    """One ``andon serve`` with the default line settings for every test that needs no other
    (starting a server costs a second of CPU); each test gets it back on a running line."""
    workdir = gate_root / "andon"
    server = AndonServer(
        workdir,
        database_url=f"sqlite:///{workdir / 'andon.db'}",
        slack=fake_slack,
        config=line_config(gate_root / "git" / "app.git"),
    ).start()
    yield server
    server.stop()


@pytest.fixture
def serving(
    tmp_path: Path, fake_slack: FakeSlack, dev: Developer, request: pytest.FixtureRequest
) -> Iterator[Callable[..., AndonServer]]:
    """``andon serve`` for ``dev``'s repository, the hook installed to ask it over HTTP: the
    module's shared server for the default settings, a server of the test's own otherwise."""
    started: list[AndonServer] = []

    def start(extra: str = "", *, over_http: bool = True) -> AndonServer:
        if not extra and over_http:
            server: AndonServer = request.getfixturevalue("line_server")
            server.reset()
        else:
            workdir = tmp_path / "andon"
            server = AndonServer(
                workdir,
                database_url=f"sqlite:///{workdir / 'andon.db'}",
                slack=fake_slack,
                config=line_config(dev.bare, extra),
            )
            started.append(server.start())
        env = {**server.env, "ANDON_URL": server.url} if over_http else server.env
        installed = run_cli(["gate", "install", str(dev.bare)], env=env, cwd=server.workdir)
        assert installed.returncode == 0, installed.stderr
        return server

    yield start
    for server in started:
        server.stop()


def stop_line(server: AndonServer) -> dict[str, Any]:
    stopped = server.cli("line", "stop", "--as", "maria", "CI is red")
    assert stopped.returncode == 0, stopped.stderr
    return server.open_stoppage()


def said(done: subprocess.CompletedProcess[str]) -> str:
    """What the pusher reads, with git's ``remote:`` padding taken off each line's end."""
    return "\n".join(text.rstrip() for text in (done.stdout + done.stderr).splitlines())


def told_in_thread(slack: FakeSlack, thread_ts: str, starts: str) -> dict[str, Any]:
    calls = slack.wait_for(
        "chat.postMessage",
        lambda p: p.get("thread_ts") == thread_ts and str(p.get("text", "")).startswith(starts),
        timeout=15,
    )
    return calls[0].params


def gate_pushes(server: AndonServer) -> set[int]:
    """The audit's ``gate.push`` entries (the server may be the module's shared one)."""
    entries = server.api("/api/audit?limit=1000").json()["entries"]
    return {e["id"] for e in entries if e["action"] == "gate.push"}
