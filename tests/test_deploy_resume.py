"""``/deploy resume``: a deploy interrupted between batches continues where it stopped — by a
person, or by itself with ``resume = true`` — and every host ends on the new release; one caught
mid-step is refused with the reason; with nothing interrupted, nothing changes.

Andon runs in this process against the session's SSH hosts; a restart is a new Andon on the
same database whose start sweeps what the stopped one left, as ``andon serve`` does."""

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from core.clock import ManualClock
from storage.tables import Deploy
from tests.ci_payloads import generic, signature
from tests.deploy_line import App, newest_ended, toml_value
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, andon_env, run_cli, upgraded
from tests.inprocess import InProcessAndon
from tests.ssh_hosts import SshFleet
from tests.waiting import eventually

T0 = datetime(2026, 12, 5, 13, 0, tzinfo=UTC)
ANA = "U0ANA"


class ResumeLine:
    """``production`` on the fleet's three hosts, a canary then the rest; the canary's
    ``after_activate`` holds while ``arm`` exists, so a stop can land between the batches."""

    def __init__(
        self, root: Path, slack: FakeSlack, fleet: SshFleet, database_url: str | None, **env: Any
    ):
        slack.forget()
        self.root, self.slack, self.fleet, self.database_url = root, slack, fleet, database_url
        self.app = App(root / "git")
        self.arm, self.at, self.go = root / "arm", root / "at", root / "go"
        hold = (
            f"if [ -e {self.arm} ]; then touch {self.at}; i=0; "
            f"while [ ! -e {self.go} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; fi"
        )
        settings = {
            "path": "/srv/unused",
            "hosts": [fleet.host_table(i) for i in range(3)],
            "ssh_key": str(fleet.key_path),
            "known_hosts": str(fleet.known_hosts_path),
            "batches": [1, "100%"],
            "after_activate": [hold],
            **env,
        }
        self.config = "\n".join(
            [
                f'[slack]\nchannel = "{CHANNEL}"',
                f"[repo]\npath = {toml_value(str(self.app.clone))}",
                "[environments.production]",
                *(f"{key} = {toml_value(value)}" for key, value in settings.items()),
            ]
        )
        self.andon = self._start()

    def _start(self) -> InProcessAndon:
        return InProcessAndon(
            self.root / "andon",
            config=self.config + "\n",
            slack=self.slack,
            clock=ManualClock(T0),
            database_url=self.database_url,
        ).start()

    def restart(self) -> list[int]:
        """Andon stops — a running deploy ends at its next safe point, as after SIGTERM — and
        starts again: its start's recovery sweeps what was left (returns the swept ids)."""
        deployer = self.andon.andon.deployer
        assert deployer is not None
        deployer.stop_taking_work()
        assert deployer.finish(30) == []
        self.andon.stop()
        self.andon = self._start()
        assert self.andon.andon.deployer is not None
        swept = self.andon.andon.deployer.recover()
        self.andon.deliver()
        return swept

    def release(self, message: str, files: dict[str, str | None]) -> str:
        revision = self.app.commit(message, files)
        body = json.dumps(generic(revision, "passed", run_id=revision[:8])).encode()
        headers = {"Content-Type": "application/json", "X-Andon-Signature": signature(body)}
        answer = requests.post(
            self.andon.url + "/hooks/ci/generic", data=body, headers=headers, timeout=10
        )
        assert answer.status_code in (200, 202), answer.text
        return revision

    def slash(self, command: str, text: str, *, user: str = "U0MARIA") -> str:
        return self.andon.slash(command, text, user=user)

    def deploys(self) -> list[dict[str, Any]]:
        return self.andon.api("/api/deploys")["deploys"]

    def finished(self, count: int) -> dict[str, Any]:
        return newest_ended(self.deploys, count=count, timeout=60)

    def live(self, position: int) -> str | None:
        path = Path(self.fleet.hosts[position].path) / "current" / "REVISION"
        return path.read_text().strip() if path.exists() else None

    def audited(self, action: str) -> list[dict[str, Any]]:
        entries = self.andon.api("/api/audit?limit=200")["entries"]
        return [entry for entry in entries if entry["action"] == action]

    def first_live(self) -> str:
        """The first release, live on every host."""
        first = self.release("first", {"app.py": "print(1)\n"})
        assert "Deploying" in self.slash("/deploy", "")
        assert self.finished(1)["status"] == "succeeded"
        return first

    def interrupted_between_batches(self) -> tuple[str, dict[str, Any]]:
        """A second release stopped once the canary is live and healthy, before the rest."""
        self.arm.touch()
        second = self.release("second", {"app.py": "print(2)\n"})
        assert "Deploying" in self.slash("/deploy", "")
        eventually(self.at.exists, timeout=30, what="the canary's after_activate holding")
        deployer = self.andon.andon.deployer
        assert deployer is not None
        deployer.stop_taking_work()
        self.go.touch()
        self.arm.unlink()
        assert len(self.restart()) == 1
        deploy = self.deploys()[0]
        assert deploy["status"] == "interrupted", deploy
        steps = [(host["step"], host["runs"]) for host in deploy["hosts"]]
        return second, {"deploy": deploy, "steps": steps}


@pytest.fixture
def resume_line(tmp_path: Path, fake_slack: FakeSlack, fleet: SshFleet) -> Iterator[Any]:
    started: list[ResumeLine] = []

    def make(database_url: str | None = None, **env: Any) -> ResumeLine:
        line = ResumeLine(tmp_path, fake_slack, fleet, database_url, **env)
        started.append(line)
        return line

    yield make
    for line in started:
        line.andon.stop()


def _message_updates(slack: FakeSlack, ts: str) -> list[str]:
    """Every text the deploy's one channel message was updated to, in order."""
    return [c.params["text"] for c in slack.calls("chat.update") if c.params.get("ts") == ts]


def test_a_deploy_interrupted_between_batches_resumes_with_fix_while_the_line_is_stopped(
    resume_line: Any, database_url: str
) -> None:
    line = resume_line(database_url)
    first = line.first_live()
    nothing = line.slash("/deploy", "resume")
    assert (
        nothing == f"Nothing to resume in production: its last deploy, 1 of {first[:7]}, succeeded."
    )
    assert len(line.deploys()) == 1
    assert line.audited("deploy.resume")[0]["outcome"] == "ok"

    second, left = line.interrupted_between_batches()
    assert left["steps"] == [("healthy", None), ("stopped", first), ("stopped", first)]
    assert [line.live(i) for i in range(3)] == [second, first, first]
    said = line.slack.wait_for(
        "chat.update", lambda p: "interrupted" in p.get("text", "") and second[:7] in p["text"]
    )
    ts = said[-1].params["ts"]

    assert "You stopped the line" in line.slash("/line", "stop checkout is down")
    refused = line.slash("/deploy", "resume")
    assert "The line is stopped" in refused, refused
    assert "`/deploy resume production fix: &lt;why&gt;`" in refused, refused
    assert len(line.deploys()) == 2
    assert line.audited("deploy.resume")[0]["outcome"] == "refused"

    answer = line.slash("/deploy", "resume production fix: the rest of the checkout fix", user=ANA)
    assert answer.startswith(f"Resuming deploy 2 of {second[:7]} to production (now deploy 3)")
    assert "2 hosts left" in answer
    resumed = line.finished(3)
    assert resumed["status"] == "succeeded", resumed
    assert [host["step"] for host in resumed["hosts"]] == ["healthy"] * 3
    assert [line.live(i) for i in range(3)] == [second] * 3
    assert (resumed["resumes"], resumed["resumed_by"]["name"]) == (2, "ana")
    assert line.deploys()[1]["status"] == "interrupted"  # the record of what happened stays
    line.andon.deliver()
    shown = _message_updates(line.slack, ts)[-1]  # the same message, updated in place
    assert f"Deployed {second[:7]} to production" in shown, shown
    assert f"by <@U0MARIA> — resumed by <@{ANA}>" in shown, shown
    assert "fix while the line is stopped: the rest of the checkout fix" in shown, shown


def test_a_deploy_stopped_mid_step_is_not_resumed_and_the_refusal_says_why(
    resume_line: Any,
) -> None:
    line = resume_line()
    line.first_live()
    sick = line.release("second", {"app.py": "print(2)\n", "UNHEALTHY": "yes\n"})
    assert "Deploying" in line.slash("/deploy", "")
    eventually(
        lambda: line.deploys()[0]["hosts"][0]["step"] == "active",
        timeout=30,
        what="the canary flipped, its health check waiting",
    )
    assert len(line.restart()) == 1
    assert line.deploys()[0]["hosts"][0]["runs"] == sick

    refused = line.slash("/deploy", "resume production")
    canary = line.fleet.hosts[0].address
    assert refused.startswith(f"Deploy 2 of {sick[:7]} to production cannot resume safely"), refused
    assert f"{canary} was mid-step: it runs the new release, its health never confirmed" in refused
    assert f"`/deploy {sick[:7]} production` starts it over" in refused
    assert len(line.deploys()) == 2
    entry = line.audited("deploy.resume")[0]
    assert (entry["outcome"], entry["message"]) == ("refused", refused)


def test_a_host_that_moved_since_the_interruption_fails_the_resume_and_puts_the_canary_back(
    resume_line: Any,
) -> None:
    line = resume_line()
    first = line.first_live()
    second, _ = line.interrupted_between_batches()
    shutil.rmtree(Path(line.fleet.hosts[2].path) / "releases" / second)  # pruned by hand, say

    assert "Resuming deploy 2" in line.slash("/deploy", "resume")

    failed = line.finished(3)
    assert failed["status"] == "failed", failed
    assert f"{line.fleet.hosts[2].address} runs {first[:7]} and no longer holds" in failed["error"]
    assert [line.live(i) for i in range(3)] == [first] * 3  # as after any failed deploy
    assert [host["step"] for host in failed["hosts"]] == ["reverted", "staged", "staged"]
    assert line.andon.api("/api/line")["state"] == "running"  # nothing escaped a check


def test_with_resume_true_the_start_after_an_interruption_continues_the_deploy(
    resume_line: Any,
) -> None:
    line = resume_line(resume=True)
    first = line.first_live()
    line.arm.touch()
    second = line.release("second", {"app.py": "print(2)\n"})
    assert "Deploying" in line.slash("/deploy", "")
    eventually(line.at.exists, timeout=30, what="the canary's after_activate holding")
    deployer = line.andon.andon.deployer
    assert deployer is not None
    deployer.stop_taking_work()
    line.go.touch()
    line.arm.unlink()

    assert line.restart() == [2]

    resumed = line.finished(3)
    assert resumed["status"] == "succeeded", resumed
    assert [line.live(i) for i in range(3)] == [second] * 3
    interrupted = line.deploys()[1]
    assert interrupted["status"] == "interrupted"
    assert [h["runs"] for h in interrupted["hosts"]] == [None, first, first]
    entry = line.audited("deploy.resume")[0]
    assert (entry["actor"]["name"], entry["outcome"]) == ("auto-resume", "ok")
    line.andon.deliver()
    shown = line.slack.calls("chat.update")[-1].params["text"]
    assert f"Deployed {second[:7]} to production" in shown, shown
    assert "resumed by auto-resume" in shown, shown


def test_the_terminal_and_the_cli_say_there_is_nothing_to_resume_alike(tmp_path: Path) -> None:
    (tmp_path / "andon.toml").write_text(
        "[environments.production]\n"
        f"path = {toml_value(str(tmp_path / 'hosts'))}\n"
        'hosts = ["local"]\n'
    )
    url = upgraded(f"sqlite:///{tmp_path / 'andon.db'}")
    env = andon_env(tmp_path, database_url=url, slack=None)
    said = "Nothing to resume in production: no deploy has run there yet."

    cli = run_cli(["deploy", "resume", "--as", "ops"], env=env, cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr
    assert said in cli.stdout

    shell = run_cli(["shell", "--as", "maria"], env=env, cwd=tmp_path, stdin="/deploy resume\n")
    assert shell.returncode == 0, shell.stderr
    assert said in shell.stdout


def _interrupted(andon: InProcessAndon, environment: str, kind: str) -> int:
    """A deploy of the environment as the sweep leaves one whose process died."""
    with andon.andon.database.writing() as session:
        row = Deploy(
            kind=kind,
            environment=environment,
            revision="a" * 40,
            status="interrupted",
            requested_at=T0,
            requested_by="U0MARIA",
            requested_by_name="maria",
            via="slack",
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def test_with_several_environments_it_asks_which_and_never_resumes_a_rollback(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    fake_slack.forget()
    config = f'[slack]\nchannel = "{CHANNEL}"\n' + "".join(
        f'[environments.{name}]\npath = {toml_value(str(tmp_path / name))}\nhosts = ["local"]\n'
        for name in ("staging", "production")
    )
    andon = InProcessAndon(
        tmp_path / "andon", config=config, slack=fake_slack, clock=ManualClock(T0)
    ).start()
    try:
        said = andon.slash("/deploy", "resume")
        assert said == "Nothing to resume: no environment has an interrupted deploy."
        rollback = _interrupted(andon, "staging", "rollback")
        _interrupted(andon, "production", "deploy")

        asked = andon.slash("/deploy", "resume")
        assert (
            asked == "Which environment? Say /deploy resume staging or /deploy resume production."
        )
        refused = andon.slash("/deploy", "resume staging")
        assert refused == (
            f"Rollback {rollback} was interrupted: a rollback is not resumed — "
            "`/rollback staging` runs one again."
        )
        assert [d["status"] for d in andon.api("/api/deploys")["deploys"]] == ["interrupted"] * 2
    finally:
        andon.stop()
