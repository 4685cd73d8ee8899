"""What a ``/deploy`` ack and a warm rollback of 20 hosts ask of the database, counted.

Slack wants its answer within three seconds, and a rollback is an emergency: both should ask the
database each thing once. The counts are SQLAlchemy's ``before_cursor_execute`` events on
Andon's engines (``BEGIN`` and ``COMMIT`` not: SQLite's dialect sends them without an execute),
in the threads that serve the request and run the deploy (the courier's, the Home publisher's and
the lease's own are left out), on SQLite, with the clock held still.

Before the deploy run was split into plan, executor and progress recorder (commit 8c84ef1):
42 statements for the ``/deploy`` ack, 108 for the warm rollback (38 of them its ack, 70 its
run). After: 14 and 53 (10 its ack, 43 its run). What went: the hosts' rows inserted in one
statement instead of one each; the line read once per request and handed to the checks; the
deploy's view built once per request, and without asking what runs unless a finished deploy's
*Roll back* button depends on it; the lock taken and freed in one statement each, and a Slack
request's key marked seen in one; the rollback's host steps written per phase with the rows the
run keeps (none read again), the releases read once at the end, the line stopped without a view
nobody reads, a message's row read once per unit of work, the Homes marked stale once. Then 15
and 54: a Slack request's key is looked up at the door and marked in the unit of work that acts
on it, so the key and the change commit together (a transaction of its own before the command
lost the command when a replica died between the two commits). Then 12 and 48: a slash
command's key is not looked up at the door, its unit of work marks it or finds it in one
statement (issue 22), and ``BEGIN`` is no longer an execute of its own.
"""

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import event

from bot.hosts.local import LocalConnection
from core.clock import ManualClock
from core.config.hosts import Host
from core.deploy.transport import Connection
from storage.database import Database
from tests.ci_payloads import generic, signature
from tests.deploy_line import App, toml_value
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL
from tests.inprocess import InProcessAndon
from tests.slack_requests import slash_command

HOSTS = 20
ACK = 12  # statements of a `/deploy` ack (42 before; 15 before issue 22)
ROLLBACK = 48  # a warm rollback of 20 hosts, its ack and its run (108 before; 54 before issue 22)
T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
# Threads that work beside a request or a run, on their own schedule: not counted.
BESIDE = ("andon-courier", "andon-homes", "andon-forge", "andon-lease", "andon-deploy-nudge")
# The run itself: counted for the rollback, not for the ack it follows.
RUN = ("andon-deploy-", "ThreadPoolExecutor")


class Directories:
    """The deploy port with every host a directory on this machine: SSH's moves, locally."""

    def connect(self, host: Host) -> Connection:
        return LocalConnection()

    def close(self) -> None:
        pass


class Statements:
    """Every statement Andon's engine sends, with the thread that sent it."""

    def __init__(self, database: Database) -> None:
        self.seen: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        for engine in {database.engine, database.writer}:  # SQLite's readers' and writers'
            event.listen(engine, "before_cursor_execute", self._heard)

    def _heard(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        with self._lock:
            self.seen.append((threading.current_thread().name, statement))

    def since(self, mark: int, *, run: bool) -> list[str]:
        with self._lock:
            found = self.seen[mark:]
        kept = [(name, s) for name, s in found if not name.startswith(BESIDE)]
        return [s for name, s in kept if run or not name.startswith(RUN)]

    def mark(self) -> int:
        with self._lock:
            return len(self.seen)


class Line:
    """Andon in this process; ``production`` has 20 hosts, each a directory."""

    def __init__(self, root: Path, slack: FakeSlack) -> None:
        self.slack = slack
        self.app = App(root / "git")
        hosts = [
            {"host": f"web{n:02}", "user": "deploy", "path": str(root / "hosts" / f"web{n:02}")}
            for n in range(1, HOSTS + 1)
        ]
        config = "\n".join(
            [
                "[slack]",
                f'channel = "{CHANNEL}"',
                "[repo]",
                f"path = {toml_value(str(self.app.clone))}",
                "[environments.production]",
                'path = "/srv/unused"',
                f"hosts = {toml_value(hosts)}",
            ]
        )
        self.andon = InProcessAndon(
            root / "andon", config=config, slack=slack, clock=ManualClock(T0)
        )
        deployer = self.andon.andon.deployer
        assert deployer is not None
        self.deployer = deployer
        deployer.crew.transport_for = lambda _environment: Directories()
        self.statements = Statements(self.andon.andon.database)
        self.andon.start()

    def release(self, message: str) -> str:
        revision = self.app.commit(message, {"app.py": f"print({message!r})\n"})
        body = json.dumps(generic(revision, "passed", run_id=revision[:8])).encode()
        headers = {"Content-Type": "application/json", "X-Andon-Signature": signature(body)}
        answer = requests.post(
            self.andon.url + "/hooks/ci/generic", data=body, headers=headers, timeout=10
        )
        assert answer.status_code == 200, answer.text
        return revision

    def slash(self, command: str, text: str) -> str:
        """The command as Slack sends it; its answer once the deploy it started has ended."""
        body, kind = slash_command(
            command, text, user="U0MARIA", name="maria", response_url=self.slack.response_url()
        )
        answer = self.andon.slack_post(body, kind)
        assert answer.status_code == 200, answer.text
        self.deployer.wait()
        return str(answer.json()["text"])

    def last_deploy(self) -> dict[str, Any]:
        return self.andon.api("/api/deploys")["deploys"][0]

    def deployed(self, count: int) -> list[str]:
        """At least ``count`` releases deployed (each test may run alone); the newest first."""
        while len(done := self.andon.api("/api/deploys")["deploys"]) < count:
            revision = self.release(f"release {len(done) + 1}")
            assert "Deploying" in self.slash("/deploy", revision[:7])
        return [deploy["revision"] for deploy in done]


@pytest.fixture(scope="module")
def line(tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack) -> Iterator[Line]:
    fake_slack.forget()
    team = Line(tmp_path_factory.mktemp("statements"), fake_slack)
    yield team
    team.andon.stop()


def test_a_deploy_ack_asks_the_database_each_thing_once(line: Line) -> None:
    line.deployed(1)
    second = line.release("second")
    mark = line.statements.mark()
    answer = line.slash("/deploy", second[:7])
    ack = line.statements.since(mark, run=False)
    assert f"Deploying {second[:7]} to production" in answer
    deploy = line.last_deploy()
    assert deploy["status"] == "succeeded", deploy
    assert len(ack) == ACK, "\n".join(ack)


def test_a_warm_rollback_of_twenty_hosts_asks_the_database_each_thing_once(line: Line) -> None:
    second, first = line.deployed(2)[:2]
    assert "Rolling back" in line.slash("/rollback", f"production {first[:7]} confirm")
    mark = line.statements.mark()
    answer = line.slash("/rollback", f"production {second[:7]} confirm")
    rollback = line.statements.since(mark, run=True)
    assert "Rolling back production" in answer, answer
    done = line.last_deploy()
    assert done["kind"] == "rollback" and done["status"] == "succeeded", done
    assert all(host["step"] == "healthy" for host in done["hosts"])
    assert len(rollback) == ROLLBACK, "\n".join(rollback)
