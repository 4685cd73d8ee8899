"""Deploys to ``hosts = ["local"]`` — a directory on Andon's own machine, no SSH — through the
real fronts: the CLI's ``andon deploy`` with its progress line, approvals pressed in Slack,
promotion with a bake time, migrations that make a rollback ask first, build steps read from the
application's repository, and continuous deployment of every green build."""

import itertools
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ci_payloads import generic, post
from tests.deploy_line import App, newest_ended, toml_value
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, AndonServer
from tests.slack_requests import block_action, slash_command
from tests.waiting import eventually

# The repository's own build runs where andon.toml allows it; as root, as a user of its own.
REPOSITORY_BUILDS = {"from_repo": True, **({"user": "nobody"} if os.geteuid() == 0 else {})}


class LocalLine:
    """``andon serve`` whose environments deploy into local directories."""

    def __init__(
        self,
        root: Path,
        slack: FakeSlack,
        environments: dict[str, dict[str, Any]],
        *,
        build: dict[str, Any] | None = None,
        database_url: str | None = None,
    ):
        self.root, self.slack = root, slack
        self.app = App(root / "git")
        self.paths = {name: root / "hosts" / name for name in environments}
        lines = [
            "[slack]",
            f'channel = "{CHANNEL}"',
            "[repo]",
            f"path = {toml_value(str(self.app.clone))}",
        ]
        if build is not None:
            lines.append("[build]")
            lines += [f"{key} = {toml_value(value)}" for key, value in build.items()]
        for name, settings in environments.items():
            lines.append(f"[environments.{name}]")
            table = {"path": str(self.paths[name]), "hosts": ["local"], **settings}
            lines += [f"{key} = {toml_value(value)}" for key, value in table.items()]
        self.server = AndonServer(
            root / "andon",
            database_url=database_url or f"sqlite:///{root / 'andon.db'}",
            slack=slack,
            config="\n".join(lines) + "\n",
        ).start()

    def release(self, message: str, files: dict[str, str]) -> str:
        revision = self.app.commit(message, files)
        payload = generic(revision, "passed", run_id=revision[:8])
        assert post(self.server, "generic", payload).status_code == 200
        return revision

    def slash(self, command: str, text: str, *, user: str = "U0MARIA", name: str = "maria") -> str:
        body, kind = slash_command(
            command, text, user=user, name=name, response_url=self.slack.response_url("d")
        )
        answer = self.server.slack_post(body, kind)
        assert answer.status_code == 200, answer.text
        return answer.json()["text"]

    def deploys(self) -> list[dict[str, Any]]:
        return self.server.api("/api/deploys").json()["deploys"]

    def finished(self, count: int = 1, timeout: float = 30.0) -> dict[str, Any]:
        """The newest deploy once ``count`` deploys exist and the newest has ended."""
        return newest_ended(self.deploys, count=count, timeout=timeout)

    def live(self, environment: str) -> str | None:
        path = self.paths[environment] / "current" / "REVISION"
        return path.read_text().strip() if path.exists() else None


@pytest.fixture
def make_line(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Any]:
    fake_slack.forget()
    started: list[LocalLine] = []

    def make(
        build: dict[str, Any] | None = None,
        database_url: str | None = None,
        **environments: dict[str, Any],
    ) -> LocalLine:
        line = LocalLine(tmp_path, fake_slack, environments, build=build, database_url=database_url)
        started.append(line)
        return line

    yield make
    for line in started:
        line.server.stop()


def test_andon_deploy_from_the_cli_shows_progress_and_the_channel_hears_it(make_line: Any) -> None:
    line = make_line(production={})
    revision = line.release("first", {"app.py": "print(1)\n"})
    done = line.server.cli("deploy", "--as", "ops")
    assert done.returncode == 0, done.stderr
    assert f"Deployed production to {revision[:7]}" in done.stdout
    assert f"deploy #1 of {revision[:7]} to production: 1 healthy" in done.stderr
    assert line.live("production") == revision
    line.slack.wait_for(
        "chat.update", lambda p: "Deployed" in p.get("text", "") and revision[:7] in p["text"]
    )
    status = line.server.cli("deploy", "status")
    assert f"local — {revision[:7]}" in status.stdout


def test_a_second_deploy_while_one_runs_is_refused_with_its_progress(make_line: Any) -> None:
    line = make_line(production={"after_activate": ["sleep 2"]})
    revision = line.release("first", {"app.py": "print(1)\n"})
    line.slash("/deploy", "")
    answer = line.slash("/deploy", "", user="U0ANA", name="ana")
    assert f"deploy of {revision[:7]} to production by @maria in progress, 0/1 hosts" in answer
    assert line.finished()["status"] == "succeeded"


def test_a_deploy_that_needs_approval_waits_for_someone_else(
    make_line: Any, database_url: str
) -> None:
    # on both databases: "awaiting_approval" once did not fit PostgreSQL's deploy.status
    line = make_line(database_url=database_url, production={"require_approval": True})
    revision = line.release("first", {"app.py": "print(1)\n"})
    assert "waits for approval" in line.slash("/deploy", "")
    request = line.slack.wait_for("chat.postMessage", lambda p: "asks to deploy" in p["text"])
    blocks = json.dumps(request[-1].params["blocks"])
    assert '"action_id": "deploy_approve"' in blocks
    deploy_id = str(line.deploys()[0]["id"])
    for user, name in (("U0MARIA", "maria"), ("U0ANA", "ana")):
        body, kind = block_action(
            "deploy_approve",
            deploy_id,
            user=user,
            name=name,
            response_url=line.slack.response_url(name),
        )
        assert line.server.slack_post(body, kind).status_code == 200
    line.slack.wait_for(
        "response_url", lambda p: "Someone other than the requester" in p.get("text", "")
    )
    deploy = line.finished()
    assert deploy["status"] == "succeeded" and deploy["approved_by"]["name"] == "ana"
    assert line.live("production") == revision


def test_production_takes_only_what_baked_on_staging(make_line: Any) -> None:
    line = make_line(staging={}, production={"after": "staging", "bake": "1h"})
    revision = line.release("first", {"app.py": "print(1)\n"})
    assert "has not been live on staging yet" in line.slash("/deploy", f"{revision} production")
    line.slash("/deploy", f"{revision} staging")
    assert line.finished()["status"] == "succeeded"
    answer = line.slash("/deploy", f"production {revision[:7]}")
    assert "of the 1 h it must bake before production" in answer
    assert "Which environment?" in line.slash("/deploy", revision[:7])


def test_a_rollback_across_migrations_asks_for_confirmation(make_line: Any) -> None:
    line = make_line(production={"before_activate": ["echo migrated >> ../../migrations.log"]})
    first = line.release("first", {"app.py": "print(1)\n"})
    line.slash("/deploy", "")
    line.finished()
    line.release("second", {"app.py": "print(2)\n"})
    line.slash("/deploy", "")
    assert line.finished(2)["migrated"] is True
    assert (line.paths["production"] / "migrations.log").read_text().count("migrated") == 2
    answer = line.slash("/rollback", "")
    assert f"`/rollback production {first[:7]} confirm`" in answer
    assert len(line.deploys()) == 2
    body, kind = slash_command(
        "/rollback",
        f"production {first[:7]} confirm",
        user="U0MARIA",
        name="maria",
        response_url=line.slack.response_url("d"),
    )
    answer = line.server.slack_post(body, kind).json()
    assert answer["text"].startswith("Rolling back production")
    assert ":rewind:" in json.dumps(answer["blocks"]) and ":rocket:" not in json.dumps(answer)
    assert line.finished(3)["status"] == "succeeded"
    assert line.live("production") == first
    # a deploy's message is updated only when what it shows changes
    shown: dict[str, list[Any]] = {}
    for update in line.slack.calls("chat.update"):
        shown.setdefault(update.params["ts"], []).append(
            (update.params.get("text"), update.params.get("blocks"))
        )
    for versions in shown.values():
        assert all(a != b for a, b in itertools.pairwise(versions)), versions


def test_the_build_step_comes_from_the_repository_at_that_revision(make_line: Any) -> None:
    line = make_line(production={}, build=REPOSITORY_BUILDS)
    spec = (
        'build = "echo built at $(git rev-parse --short HEAD 2>/dev/null || echo tree) > BUILD"\n'
    )
    revision = line.release("with a build", {"app.py": "print(1)\n", "andon.deploy.toml": spec})
    line.slash("/deploy", "")
    assert line.finished()["status"] == "succeeded"
    built = line.paths["production"] / "releases" / revision / "BUILD"
    assert built.read_text() == "built at tree\n"  # a clean export: no .git to build from


def test_every_green_build_of_the_line_ships_by_itself(make_line: Any) -> None:
    line = make_line(production={"auto_deploy": True})
    first = line.release("first", {"app.py": "print(1)\n"})
    deploy = line.finished()
    assert deploy["revision"] == first
    assert deploy["requested_by"]["name"] == "auto-deploy"
    second = line.release("second", {"app.py": "print(2)\n"})
    assert line.finished(2)["revision"] == second
    assert line.live("production") == second


def test_the_roll_back_button_on_a_finished_deploy_rolls_back(make_line: Any) -> None:
    line = make_line(production={"rollback_stops_line": False})
    first = line.release("first", {"app.py": "print(1)\n"})
    line.slash("/deploy", "")
    line.finished()
    second = line.release("second", {"app.py": "print(2)\n"})
    line.slash("/deploy", "")
    line.finished(2)
    done = line.slack.wait_for("chat.update", lambda p: "deploy_rollback" in json.dumps(p))
    button = next(
        element
        for block in done[-1].params["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    )
    assert button["text"]["text"] == f"Roll back to {first[:7]}"
    body, kind = block_action(
        "deploy_rollback",
        button["value"],
        user="U0ANA",
        name="ana",
        response_url=line.slack.response_url("ana"),
    )
    assert line.server.slack_post(body, kind).status_code == 200
    rollback = line.finished(3)
    assert rollback["kind"] == "rollback" and rollback["requested_by"]["name"] == "ana"
    assert line.live("production") == first
    assert line.server.api("/api/line").json()["state"] == "running"  # rollback_stops_line off
    assert f"{second[:7]} is marked bad" in line.slash("/deploy", second[:7])


# --- stopped by a signal in the middle of a deploy -----------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_a_health_check_stops_at_that_safe_point_and_the_restart_sweeps_it(
    make_line: Any, tmp_path: Path, sig: signal.Signals
) -> None:
    healthy = tmp_path / "healthy"
    line = make_line(production={"health_command": f"test -e {healthy}", "health_timeout": "60s"})
    first = line.release("first", {"app.py": "print(1)\n"})
    assert "Deploying" in line.slash("/deploy", "")
    eventually(
        lambda: line.deploys()[0]["hosts"][0]["step"] == "active",
        timeout=30,
        what="host 0 flipped to the new release",
    )

    line.server.stop(sig)  # exit 0, and at once: the health check's wait is a safe point

    assert "stopped at a safe point as Andon stops" in line.server.log()
    healthy.touch()
    line.server.start()
    deploy = line.finished(timeout=15)
    assert deploy["status"] == "interrupted", deploy
    assert (deploy["hosts"][0]["step"], deploy["hosts"][0]["runs"]) == ("stopped", first)
    assert line.live("production") == first  # a complete release, as after a kill
    line.slack.wait_for("chat.update", lambda p: "interrupted" in p.get("text", ""))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_a_deploy_step_lets_the_step_finish_within_the_grace(
    make_line: Any, tmp_path: Path, sig: signal.Signals
) -> None:
    at, go = tmp_path / "at", tmp_path / "go"
    hold = f"touch {at}; i=0; while [ ! -e {go} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1));"
    hold += " done"
    line = make_line(production={"after_activate": [hold]})
    revision = line.release("first", {"app.py": "print(1)\n"})
    assert "Deploying" in line.slash("/deploy", "")
    eventually(at.exists, timeout=30, what="after_activate running")

    line.server.process.send_signal(sig)
    eventually(
        lambda: f"stopping ({sig.name})" in line.server.log(),
        timeout=30,
        what=f"andon serve hearing {sig.name}",
    )
    go.touch()
    line.server.stop(sig)  # still exit 0: the step ended inside the grace, and the deploy with it

    assert "mid-step" not in line.server.log()
    line.server.start()
    deploy = line.finished(timeout=15)
    assert (deploy["status"], deploy["revision"]) == ("succeeded", revision)
    assert line.live("production") == revision


def test_a_mistyped_environment_is_named_with_the_ones_there_are_and_no_server_path(
    make_line: Any,
) -> None:
    line = make_line(production={}, staging={})
    line.release("first", {"app.py": "print(1)\n"})

    answer = line.slash("/deploy", "prodution")

    assert answer == (
        "'prodution' is neither a revision of the line's repository nor an environment; the "
        "environments are production, staging. Did you mean `production`?"
    )
    assert str(line.root) not in answer
