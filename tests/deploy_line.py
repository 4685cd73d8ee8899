"""A team's whole deploy setup for a scenario: a git repository with commits, CI results, SSH
hosts on loopback (from the session's fleet), and a running ``andon serve`` talking to the fake
Slack — so ``/deploy`` goes from a signed slash command to files on the hosts."""

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.ci_payloads import generic, post
from tests.fakes.slack import FakeSlack
from tests.git_server import GitWorkspace
from tests.harness import CHANNEL, AndonServer
from tests.slack_requests import block_action, slash_command
from tests.ssh_hosts import SshFleet
from tests.waiting import eventually


def toml_value(value: Any) -> str:
    """Just enough TOML for andon.toml: strings, numbers, booleans, lists and inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


UNFINISHED = ("awaiting_approval", "pending", "running")


def newest_ended(
    deploys: Callable[[], list[dict[str, Any]]], *, count: int = 1, timeout: float = 60.0
) -> dict[str, Any]:
    """The newest deploy (``deploys()`` lists them newest first, as ``/api/deploys`` does) once
    there are ``count`` and it has ended."""

    def ended() -> dict[str, Any] | None:
        found = deploys()
        return found[0] if len(found) >= count and found[0]["status"] not in UNFINISHED else None

    return eventually(
        ended, timeout=timeout, every=0.1, what=lambda: f"deploy #{count} ended: {deploys()[:1]}"
    )


class App(GitWorkspace):
    """The application's repository: Dana commits, Andon cuts releases from the clone."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, author=("Dana Kim", "dana@example.com"), env={})

    def commit(self, message: str, files: dict[str, str | None]) -> str:
        """Write (or, with ``None``, delete) files and commit; returns the full sha."""
        for name, text in files.items():
            path = self.clone / name
            if text is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD").strip()


class DeployLine:
    """``andon serve`` with one environment, ``production``, on the fleet's hosts."""

    def __init__(
        self,
        root: Path,
        *,
        fleet: SshFleet,
        slack: FakeSlack,
        hosts: int = 3,
        known_hosts: str | None = None,
        database_url: str | None = None,
        extra: str = "",
        **environment: Any,
    ) -> None:
        self.root, self.fleet, self.slack = root, fleet, slack
        slack.forget()
        self.app = App(root / "git")
        self.hosts = list(range(hosts))
        settings: dict[str, Any] = {
            "path": "/srv/unused",
            "hosts": [fleet.host_table(i) for i in self.hosts],
            "ssh_key": str(fleet.key_path),
            "known_hosts": known_hosts or str(fleet.known_hosts_path),
            "batches": [1, "100%"],
            "health_timeout": "2s",
            **environment,
        }
        lines = [
            "[slack]",
            f'channel = "{CHANNEL}"',
            "[access]",
            'admins = ["maria"]',
            "[repo]",
            f"path = {toml_value(str(self.app.clone))}",
            "[environments.production]",
            *(f"{key} = {toml_value(value)}" for key, value in settings.items()),
        ]
        self.config = "\n".join(lines) + "\n" + extra
        self.server = AndonServer(
            root / "andon",
            database_url=database_url or f"sqlite:///{root / 'andon.db'}",
            slack=slack,
            config=self.config,
        )

    def start(self) -> "DeployLine":
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    # --- what the team does --------------------------------------------------------------------

    def green(self, revision: str) -> None:
        """CI passed the revision on main."""
        answer = post(self.server, "generic", generic(revision, "passed", run_id=revision[:8]))
        assert answer.status_code == 200, answer.text

    def red(self, revision: str, *, branch: str = "main") -> None:
        payload = generic(revision, "failed", run_id=revision[:8], failed_tests=["t::signup"])
        payload["branch"] = branch
        assert post(self.server, "generic", payload).status_code == 200

    def release(self, message: str, files: dict[str, str | None]) -> str:
        """Commit and let CI pass it: a revision ready to deploy."""
        revision = self.app.commit(message, files)
        self.green(revision)
        return revision

    def slash(self, command: str, text: str, *, user: str = "U0MARIA", name: str = "maria") -> str:
        """A signed slash command; returns the ephemeral answer's text."""
        body, kind = slash_command(
            command, text, user=user, name=name, response_url=self.slack.response_url("deploy")
        )
        answer = self.server.slack_post(body, kind)
        assert answer.status_code == 200, answer.text
        return answer.json()["text"]

    def press(self, action: str, value: str, *, user: str, name: str) -> None:
        body, kind = block_action(
            action, value, user=user, name=name, response_url=self.slack.response_url("press")
        )
        assert self.server.slack_post(body, kind).status_code == 200

    # --- what they see ---------------------------------------------------------------------------

    def deploys(self) -> list[dict[str, Any]]:
        answer = self.server.api("/api/deploys")
        assert answer.status_code == 200, answer.text
        return answer.json()["deploys"]

    def finished(self, timeout: float = 60.0) -> dict[str, Any]:
        """The newest deploy once it has ended."""
        return newest_ended(self.deploys, timeout=timeout)

    def wait_for_step(self, position: int, step: str, timeout: float = 30.0) -> None:
        def reached() -> bool:
            found = self.deploys()
            return bool(found) and found[0]["hosts"][position]["step"] == step

        eventually(
            reached,
            timeout=timeout,
            what=lambda: f"host {position} at step {step}: {self.deploys()[:1]}",
        )

    def live(self, position: int) -> str | None:
        """What the host serves: its ``current/REVISION``."""
        path = Path(self.fleet.hosts[position].path) / "current" / "REVISION"
        return path.read_text().strip() if path.exists() else None

    def releases(self, position: int) -> set[str]:
        directory = Path(self.fleet.hosts[position].path) / "releases"
        return set(os.listdir(directory)) if directory.exists() else set()

    def file(self, position: int, revision: str, name: str) -> Path:
        return Path(self.fleet.hosts[position].path) / "releases" / revision / name

    def line(self) -> dict[str, Any]:
        return self.server.api("/api/line").json()

    def progress(self, deploy_id: int) -> list[dict[str, Any]]:
        """Every version of the deploy's channel message: the post, then its updates."""
        named = re.compile(rf"\bdeploy {deploy_id}\b")
        posts = [
            c.params
            for c in self.slack.calls("chat.postMessage")
            if named.search(json.dumps(c.params.get("blocks", [])))
        ]
        updates = [
            c.params
            for c in self.slack.calls("chat.update")
            if named.search(json.dumps(c.params.get("blocks", [])))
        ]
        return posts + updates
