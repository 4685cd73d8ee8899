"""``auto_deploy`` beside ``[access] deployers``: auto-deploy is Andon's own actor, so a green
build ships whoever is listed; and a refusal that would repeat at every scheduler tick (the line
stopped, a bake not done) leaves one audit row per change of reason, not one per tick. The
server runs in this process; the test runs the scheduler's deploy tick itself, on SQLite and
PostgreSQL."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.intents.typed import StartLine
from core.actor import Actor
from core.clock import ManualClock
from tests.ci_payloads import generic, signature
from tests.deploy_line import App, newest_ended, toml_value
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL
from tests.inprocess import InProcessAndon
from tests.slack_requests import slash_command

T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
MARIA = "U0MARIA"  # the only deployer, and an admin
TICKS = 25  # two minutes of ticks at the default 5 s: enough to see a row per tick


class AutoLine:
    """An in-process Andon whose ``production`` ships green builds by itself."""

    def __init__(self, root: Path, slack: FakeSlack, database_url: str, **production: Any):
        slack.forget()
        self.app = App(root / "git")
        self.hosts = root / "hosts"
        environments = [
            "[environments.production]",
            f"path = {toml_value(str(self.hosts / 'production'))}",
            'hosts = ["local"]',
            "auto_deploy = true",
            *(f"{key} = {toml_value(value)}" for key, value in production.items()),
        ]
        if "after" in production:
            environments += [
                "[environments.staging]",
                f"path = {toml_value(str(self.hosts / 'staging'))}",
                'hosts = ["local"]',
            ]
        config = "\n".join(
            [
                f'[slack]\nchannel = "{CHANNEL}"',
                f'[access]\ndeployers = ["{MARIA}"]\nadmins = ["{MARIA}"]',
                f"[repo]\npath = {toml_value(str(self.app.clone))}",
                *environments,
            ]
        )
        self.line = InProcessAndon(
            root / "andon",
            config=config + "\n",
            slack=slack,
            clock=ManualClock(T0),
            database_url=database_url,
        ).start()
        self.slack = slack

    def release(self, message: str) -> str:
        revision = self.app.commit(message, {"app.py": f"print({message!r})\n"})
        body = json.dumps(generic(revision, "passed", run_id=revision[:8])).encode()
        headers = {"Content-Type": "application/json", "X-Andon-Signature": signature(body)}
        answer = requests.post(
            self.line.url + "/hooks/ci/generic", data=body, headers=headers, timeout=10
        )
        assert answer.status_code in (200, 202), answer.text
        return revision

    def slash(self, command: str, text: str) -> str:
        body, kind = slash_command(
            command, text, user=MARIA, name="maria", response_url=self.slack.response_url()
        )
        answer = self.line.slack_post(body, kind)
        assert answer.status_code == 200, answer.text
        return answer.json()["text"]

    def tick(self, times: int = 1) -> None:
        """The scheduler's deploy tick, run here, each after any a green build's nudge began."""
        deployer = self.line.andon.deployer
        assert deployer is not None
        for _ in range(times):
            deployer.tick(wait=True)

    def deploys(self) -> list[dict[str, Any]]:
        return self.line.api("/api/deploys")["deploys"]

    def finished(self, count: int = 1, timeout: float = 30.0) -> dict[str, Any]:
        return newest_ended(self.deploys, count=count, timeout=timeout)

    def refusals(self) -> list[dict[str, Any]]:
        """Auto-deploy's refused ``deploy`` rows in the audit log, oldest first."""
        entries = self.line.api("/api/audit?limit=500")["entries"]
        return [
            e
            for e in reversed(entries)
            if e["action"] == "deploy"
            and e["actor"]["name"] == "auto-deploy"
            and e["outcome"] == "refused"
        ]


@pytest.fixture
def auto_line(tmp_path: Path, fake_slack: FakeSlack, database_url: str) -> Iterator[Any]:
    started: list[AutoLine] = []

    def make(**production: Any) -> AutoLine:
        line = AutoLine(tmp_path, fake_slack, database_url, **production)
        started.append(line)
        return line

    yield make
    for line in started:
        line.line.stop()


def test_with_a_deployers_list_a_green_build_of_the_line_ships_by_itself(auto_line: Any) -> None:
    line = auto_line()

    revision = line.release("first")
    line.tick()

    deploy = line.finished()
    assert (deploy["revision"], deploy["status"]) == (revision, "succeeded")
    assert deploy["requested_by"]["name"] == "auto-deploy"
    assert (line.hosts / "production" / "current" / "REVISION").read_text().strip() == revision
    assert line.refusals() == []


def test_a_refusal_repeated_every_tick_is_audited_once_per_change_of_reason(
    auto_line: Any,
) -> None:
    line = auto_line(after="staging", bake="1h")
    assert "You stopped the line" in line.slash("/line", "stop the canary is red")

    revision = line.release("first")
    line.tick(TICKS)

    stopped = line.refusals()
    assert len(stopped) == 1, stopped
    assert stopped[0]["detail"] == f"{revision[:7]} to production"
    assert stopped[0]["message"].startswith(
        f"{revision[:7]} cannot deploy to production — 2 things stand in the way:\n"
        "• The line is stopped since 14:00 UTC by @maria"
    )

    line.line.andon.execute(StartLine(force="a test"), Actor(MARIA, "maria", "slack"))
    assert line.line.api("/api/line")["state"] == "running"
    line.tick(TICKS)

    refused = line.refusals()
    assert len(refused) == 2, refused
    assert refused[1]["message"] == (
        f"{revision[:7]} has not been live on staging yet — production takes only what "
        f"staging ran first: `/deploy {revision[:7]} staging`."
    )
    assert line.deploys() == []
