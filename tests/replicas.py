"""Three ``andon serve`` replicas on one PostgreSQL database, as behind a load balancer: each
request goes to the next replica in turn, and one fake Slack hears what they all say."""

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests
from sqlmodel import col, select

from storage.database import Database
from storage.tables import OutboxMessage
from tests.ci_payloads import generic, post, signature
from tests.deploy_line import App, toml_value
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, AndonServer
from tests.metric_endpoint import MetricEndpoint
from tests.slack_requests import block_action, slash_command, thread_reply

TICK = "0.25"  # ANDON_TICK_SECONDS: due work, the deploy sweep and the checks four times a second
ONCALL = "U0ONE"
NAMES = {"U0MARIA": "maria", ONCALL: "one"}  # maria is an admin: she may force a start
_events = itertools.count(1)


class Hold:
    """A host command that, once armed, says it got there and waits for the word (bounded, so
    the orphan a kill leaves exits on its own)."""

    def __init__(self, scratch: Path) -> None:
        scratch.mkdir(parents=True, exist_ok=True)
        self.armed, self.at, self.go = (scratch / name for name in ("armed", "at", "go"))
        self.script = (
            f"if [ -e {self.armed} ] && [ ! -e {self.go} ]; then touch {self.at}; i=0; "
            f"while [ ! -e {self.go} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; fi"
        )

    def arm(self) -> None:
        for path in (self.at, self.go):
            path.unlink(missing_ok=True)
        self.armed.touch()

    def let_go(self) -> None:
        self.go.touch()
        self.armed.unlink(missing_ok=True)


def config(*, repo: Path, hosts: Path, health: str, metric: str) -> str:
    """One andon.toml for every replica: a local environment, an on-call rotation, a check."""
    production = {"path": str(hosts), "hosts": ["local"], "health_command": health}
    lines = [
        "[slack]",
        f'channel = "{CHANNEL}"',
        "[access]",
        'admins = ["U0MARIA"]',
        "[oncall]",
        f'rotation = ["{ONCALL}"]',
        'repeat = "1h"',
        'ack_timeout = "2h"',
        "[repo]",
        f"path = {toml_value(str(repo))}",
        "[environments.production]",
        *(f"{key} = {toml_value(value)}" for key, value in production.items()),
        'health_timeout = "60s"',
        "[[checks]]",
        'name = "signups"',
        f"url = {toml_value(metric)}",
        'json_path = "signups"',
        "min = 10",
        'every = "1h"',
    ]
    return "\n".join(lines) + "\n"


class Replicas:
    """The trio, its application repository, its host directory and what they share."""

    def __init__(self, root: Path, *, database_url: str, slack: FakeSlack, count: int = 3):
        self.root, self.slack = root, slack
        self.app = App(root / "git")
        self.host = root / "hosts" / "production"
        self.hold = Hold(root / "hold")
        self.metric = MetricEndpoint()
        text = config(
            repo=self.app.clone, hosts=self.host, health=self.hold.script, metric=self.metric.url
        )
        self.servers = [
            AndonServer(root / f"replica{n}", database_url=database_url, slack=slack, config=text)
            for n in range(count)
        ]
        for server in self.servers:
            server.env["ANDON_TICK_SECONDS"] = TICK
        self._turn = itertools.cycle(range(count))

    def start(self) -> "Replicas":
        """All at once, as an orchestrator starts them: they migrate the database once."""
        failed: list[BaseException] = []

        def start(server: AndonServer) -> None:
            try:
                server.start()
            except BaseException as error:
                failed.append(error)

        threads = [threading.Thread(target=start, args=(s,)) for s in self.servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not failed, failed
        return self

    def stop(self) -> None:
        """Every replica stopped with SIGTERM, even when one of them does not exit cleanly."""
        self.hold.let_go()
        failed: list[AssertionError] = []
        for server in self.servers:
            if server._process is not None and server.process.poll() is None:
                try:
                    server.stop()
                except AssertionError as error:
                    failed.append(error)
        self.metric.close()
        if failed:
            raise failed[0]

    # --- round robin -------------------------------------------------------------------------

    def next(self) -> AndonServer:
        """The replica the load balancer picks: the next one that is alive."""
        while True:
            server = self.servers[next(self._turn)]
            if server.process.poll() is None:
                return server

    def api(self, path: str) -> Any:
        return self.next().api(path).json()

    def slash(
        self, command: str, text: str, *, to: AndonServer | None = None, user: str = "U0MARIA"
    ) -> str:
        """A signed slash command; the ephemeral answer's text."""
        body, kind = slash_command(
            command, text, user=user, name=NAMES[user], response_url=self.slack.response_url()
        )
        answer = (to or self.next()).slack_post(body, kind)
        assert answer.status_code == 200, answer.text
        return answer.json()["text"]

    def slash_retried(self, command: str, text: str) -> list[int]:
        """A slash command Slack sends again (its answer was late) and the balancer hands to
        another replica: the same body, ``X-Slack-Retry-Num: 1``."""
        body, kind = slash_command(
            command, text, user="U0MARIA", name="maria", response_url=self.slack.response_url()
        )
        first = self.next().slack_post(body, kind)
        again = self.next().slack_post(body, kind, retry_num=1)
        return [first.status_code, again.status_code]

    def press(self, action_id: str, value: str, *, user: str) -> None:
        body, kind = block_action(
            action_id, value, user=user, name=NAMES[user], response_url=self.slack.response_url()
        )
        assert self.next().slack_post(body, kind).status_code == 200

    def reply(self, thread: str, text: str) -> None:
        """An answer in a thread, as Slack's Events API delivers it."""
        event = f"EvREPLICA{next(_events):06d}"
        body, kind = thread_reply(text, user="U0MARIA", thread_ts=thread, event_id=event)
        assert self.next().slack_post(body, kind).status_code == 200

    def ci(self, revision: str, status: str, *, to: AndonServer | None = None) -> None:
        """A build result, and Slack-style at-least-once: the same delivery to a second replica."""
        payload = generic(revision, status, run_id=revision[:8], failed_tests=["t::signup"])
        for server in (to or self.next(), self.next()):
            answer = post(server, "generic", payload)
            assert answer.status_code == 200, answer.text

    def alert(self, name: str) -> dict[str, Any]:
        body = json.dumps({"name": name, "status": "firing", "summary": f"{name} is off"}).encode()
        answer = requests.post(
            f"{self.next().url}/hooks/alerts/generic",
            data=body,
            headers={"Content-Type": "application/json", "X-Andon-Signature": signature(body)},
            timeout=10,
        )
        assert answer.status_code in (200, 202), answer.text
        return answer.json()

    def release(self, message: str, files: dict[str, str]) -> str:
        revision = self.app.commit(message, files)
        self.ci(revision, "passed")
        return revision

    def deploys(self) -> list[dict[str, Any]]:
        return self.api("/api/deploys")["deploys"]

    def live(self) -> str | None:
        path = self.host / "current" / "REVISION"
        return path.read_text().strip() if path.exists() else None

    # --- what people saw ---------------------------------------------------------------------

    def posts(self, where: Callable[[dict[str, Any]], bool] = lambda _p: True) -> list[str]:
        return [c.params["text"] for c in self.slack.calls("chat.postMessage") if where(c.params)]

    def channel(self) -> list[str]:
        return self.posts(lambda p: p["channel"] == CHANNEL and not p.get("thread_ts"))

    def thread(self, ts: str) -> list[str]:
        return self.posts(lambda p: p.get("thread_ts") == ts)

    def dms(self, user: str) -> list[str]:
        return self.posts(lambda p: p["channel"] == "D" + user[1:])


def replicas(root: Path, *, database_url: str, slack: FakeSlack) -> Iterator[Replicas]:
    """The started trio, stopped with SIGTERM once the scenarios are done."""
    trio = Replicas(root, database_url=database_url, slack=slack).start()
    try:
        yield trio
    finally:
        trio.stop()


def each_said_once(slack: FakeSlack) -> None:
    """No message said twice: of the replicas' couriers, one sent each."""
    said = [
        (c.params["channel"], c.params.get("thread_ts"), c.params["text"])
        for c in slack.calls("chat.postMessage")
    ]
    assert len(said) == len(set(said)), said


def pending(url: str) -> list[str | None]:
    """Who holds each message still to deliver (``None``: nobody yet)."""
    database = Database(url)
    try:
        with database.reading() as session:
            query = select(OutboxMessage.claimed_by).where(col(OutboxMessage.status) == "pending")
            return list(session.exec(query).all())
    finally:
        database.dispose()
