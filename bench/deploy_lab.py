"""The rollback lab of ``deploy.py``: Andon as ``andon serve`` builds it, on SQLite, with one
environment per size over the fleet, and two releases the engine deployed to every host.
"""

import io
import json
from dataclasses import dataclass
from pathlib import Path

from common import progress
from deploy_hosts import git_commit, live_on, workspace

from bot.andon import Andon
from bot.intents.typed import Deploy as DeployIntent
from bot.main import open_andon
from bot.settings.environment import Settings
from bot.terminal.chat import TerminalChat
from core import line
from core.actor import Actor
from core.ci.report import BuildReport, BuildStatus
from core.config.file import load as load_config
from core.config.hosts import Host
from core.deploy import records
from core.deploy.request import Accepted
from core.deploy.state import DeployState
from tests.ssh_hosts import SshFleet

say = progress("deploy")


ACTOR = Actor(id="U0BENCH", name="bench", via="cli")


@dataclass
class Lab:
    """The fleet, Andon on SQLite with one environment per size, and the two releases."""

    fleet: SshFleet
    andon: Andon
    revisions: tuple[str, str]
    hosts: dict[int, list[Host]]  # size → the environment's hosts, with their paths
    line_left_stopped: bool = False  # rollbacks join one stoppage (``--line-left-stopped``)

    def env(self, size: int) -> str:
        return f"hosts{size}"

    def other(self, revision: str | None) -> str:
        first, second = self.revisions
        return second if revision == first else first


def andon_toml(fleet: SshFleet, clone: Path, hosts: dict[int, list[Host]]) -> str:
    lines = ["[repo]", f"path = {json.dumps(str(clone))}", 'branch = "main"']
    for size, chosen in hosts.items():
        tables = ", ".join(
            f'{{ host = "{h.host}", user = "{h.user}", port = {h.port}, path = "{h.path}" }}'
            for h in chosen
        )
        lines += [
            "",
            f"[environments.hosts{size}]",
            'path = "/srv/unused"',
            f"hosts = [{tables}]",
            f"ssh_key = {json.dumps(str(fleet.key_path))}",
            f"known_hosts = {json.dumps(str(fleet.known_hosts_path))}",
        ]
    return "\n".join(lines) + "\n"


def open_lab(fleet: SshFleet, scratch: Path, sizes: tuple[int, ...]) -> Lab:
    """Andon as ``andon serve`` builds it (``open_andon``), its courier left stopped: messages
    are queued in the outbox, as in production, but not delivered."""
    repo = workspace(scratch / "small")
    first = git_commit(repo, {"app.py": b"print('v1')\n", "static/site.css": b"body {}\n"}, "v1")
    second = git_commit(repo, {"app.py": b"print('v2')\n"}, "v2")
    hosts = {
        size: [
            Host(host="127.0.0.1", user=h.user, port=h.port, path=f"{h.path}/env{size}")
            for h in fleet.hosts[:size]
        ]
        for size in sizes
    }
    config_path = scratch / "andon.toml"
    config_path.write_text(andon_toml(fleet, repo.clone, hosts))
    settings = Settings(
        andon_database_url=f"sqlite:///{scratch / 'andon.db'}",
        andon_config=str(config_path),
        slack_bot_token=None,
    )
    andon = open_andon(
        settings, TerminalChat(io.StringIO()), config=load_config(config_path), create=True
    )
    lab = Lab(fleet, andon, (first, second), hosts)
    for revision in (first, second):
        report = BuildReport(
            provider="generic",
            revision=revision,
            branch="main",
            status=BuildStatus.PASSED,
            run_id=revision[:8],
        )
        andon.record_ci(report, delivery=None)
    for revision in (first, second):
        for size in sizes:
            say(f"setup: deploy {revision[:7]} to {lab.env(size)} through the engine")
            result = andon.execute(
                DeployIntent(revision=revision, environment=lab.env(size)), ACTOR
            )
            finish(lab, result, revision, size)
    return lab


def running_line(lab: Lab) -> None:
    """Untimed, before each rollback: the line runs again, so every rollback meets the line as
    the first rollback of an incident does and opens a stoppage. Left stopped, the n-th rollback
    of a run added its cause to a stoppage holding n-1 others and rendered them all in the
    announcement: later rollbacks cost more than earlier ones (bench/README.md, issue 22)."""
    with lab.andon.units() as (session, notifier):
        line.start(
            session,
            notifier=notifier,
            clock=lab.andon.clock,
            actor=ACTOR,
            force="the benchmark's next rollback",
            admins=[ACTOR.id],
        )


def finish(lab: Lab, result: object, revision: str, size: int) -> None:
    """Wait for the deployer's thread; the deploy must have succeeded on every host."""
    if not isinstance(result, Accepted):
        raise RuntimeError(f"{lab.env(size)}: not accepted: {result!r}")
    deployer = lab.andon.deployer
    assert deployer is not None
    deployer.wait()
    with lab.andon.database.reading() as session:
        view = records.view(session, result.deploy.id)
    if view.status != DeployState.SUCCEEDED:
        raise RuntimeError(f"{view.kind} #{view.id} to {lab.env(size)}: {view.status} {view.error}")
    wrong = [h.path for h in lab.hosts[size] if live_on(str(h.path)) != revision]
    if wrong:
        raise RuntimeError(f"{view.kind} #{view.id} succeeded but {wrong} do not run {revision}")
