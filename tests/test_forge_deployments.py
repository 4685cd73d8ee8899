"""Every deploy and rollback is a deployment of the line's repository on GitHub and GitLab, so
its Environments page and pull requests show what runs where.

A running ``andon serve`` deploys into local directories and records each deploy through fake
GitHub and GitLab APIs that check every request against the forges' documentation.
"""

import itertools
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import select

from core.clock import ManualClock
from core.config.file import problems
from core.deploy import forge_records
from core.deploy.forge_deployments import Created, ForgeDeploymentError, Round, mirror_due
from core.deploy.forge_records import TAKE_ON, DeployFacts, Shown
from storage.database import Database
from storage.tables import Deploy, ForgeDeployment
from tests.ci_payloads import generic, post, sha
from tests.deploy_line import App, newest_ended, toml_value
from tests.fakes.forges import FakeDeployment, FakeGitHub, FakeGitLab
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, AndonServer
from tests.slack_requests import slash_command

GITHUB_TOKEN = "ghp_test0000000000deploys"
GITLAB_TOKEN = "glpat-test-0000-deploys"
PERMALINK = f"https://andon-test.slack.com/archives/{CHANNEL}/p"
_projects = itertools.count(1)


@pytest.fixture(scope="module")
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=GITHUB_TOKEN) as fake:
        yield fake
    assert fake.problems == []


@pytest.fixture(scope="module")
def gitlab() -> Iterator[FakeGitLab]:
    with FakeGitLab(token=GITLAB_TOKEN) as fake:
        yield fake
    assert fake.problems == []


class ForgeLine:
    """``andon serve`` deploying ``production`` into a local directory, its repository on both
    forges under a name of its own (the fakes are shared by the module's tests)."""

    def __init__(
        self,
        root: Path,
        *,
        slack: FakeSlack,
        github: FakeGitHub,
        gitlab: FakeGitLab,
        database_url: str | None = None,
        tokens: bool = True,
        **production: Any,
    ) -> None:
        number = next(_projects)
        self.repo, self.project = f"acme/shop-{number}", f"acme/shop-{number}"
        self.root, self.slack = root, slack
        self.app = App(root / "git")
        self.path = root / "hosts" / "production"
        settings = {"path": str(self.path), "hosts": ["local"], **production}
        lines = [
            "[slack]",
            f'channel = "{CHANNEL}"',
            "[repo]",
            f"path = {toml_value(str(self.app.clone))}",
            "[environments.production]",
            *(f"{key} = {toml_value(value)}" for key, value in settings.items()),
            "[forges]",
            f'github_api = "{github.api}"',
            f'gitlab_api = "{gitlab.api}"',
            f'github = "{self.repo}"',
            f'gitlab = "{self.project}"',
        ]
        self.server = AndonServer(
            root / "andon",
            database_url=database_url or f"sqlite:///{root / 'andon.db'}",
            slack=slack,
            config="\n".join(lines) + "\n",
        )
        if tokens:
            self.server.env.update(ANDON_GITHUB_TOKEN=GITHUB_TOKEN, ANDON_GITLAB_TOKEN=GITLAB_TOKEN)
        self.server.start()

    def release(self, message: str, text: str) -> str:
        """Commit and let CI pass it: a revision ready to deploy."""
        revision = self.app.commit(message, {"app.py": text})
        answer = post(self.server, "generic", generic(revision, "passed", run_id=revision[:8]))
        assert answer.status_code == 200, answer.text
        return revision

    def slash(self, command: str, text: str, *, user: str = "U0MARIA", name: str = "maria") -> str:
        body, kind = slash_command(
            command, text, user=user, name=name, response_url=self.slack.response_url("d")
        )
        answer = self.server.slack_post(body, kind)
        assert answer.status_code == 200, answer.text
        return answer.json()["text"]

    def finished(self, count: int) -> dict[str, Any]:
        """The newest deploy once ``count`` deploys exist and the newest has ended."""
        return newest_ended(
            lambda: self.server.api("/api/deploys").json()["deploys"], count=count, timeout=30
        )


@pytest.fixture
def make_line(
    tmp_path: Path, fake_slack: FakeSlack, github: FakeGitHub, gitlab: FakeGitLab
) -> Iterator[Any]:
    started: list[ForgeLine] = []

    def make(**options: Any) -> ForgeLine:
        line = ForgeLine(tmp_path, slack=fake_slack, github=github, gitlab=gitlab, **options)
        started.append(line)
        return line

    yield make
    github.up()
    gitlab.up()
    for line in started:
        line.server.stop()


def of(project: str, revision: str, *states: str) -> Any:
    """A deployment of ``revision`` in ``project`` that has gone through exactly ``states``."""

    def match(deployment: FakeDeployment) -> bool:
        ref = deployment.params.get("sha", deployment.params.get("ref"))
        return deployment.project == project and ref == revision and deployment.states == [*states]

    return match


def test_a_deploy_is_a_github_deployment_in_progress_then_success(
    make_line: Any, github: FakeGitHub, database_url: str
) -> None:
    line = make_line(database_url=database_url)
    assert f"deployments: every deploy and rollback recorded on github {line.repo}" in (
        line.server.log()
    )
    revision = line.release("first", "print(1)\n")
    line.slash("/deploy", "")
    assert line.finished(1)["status"] == "succeeded"

    [deployment] = github.wait_for_deployments(of(line.repo, revision, "in_progress", "success"))
    assert deployment.params == {
        "ref": revision,
        "environment": "production",
        "description": f"Deploy of {revision[:7]} to production by maria (slack)",
        "auto_merge": False,
        "required_contexts": [],
        "transient_environment": False,
        "production_environment": True,
        "payload": {"andon_deploy": 1, "kind": "deploy"},
    }
    running, success = deployment.updates
    assert running["description"] == f"Deploying {revision[:7]}"
    assert success["description"].startswith(f"Deployed {revision[:7]} on production in ")
    assert success["log_url"].startswith(PERMALINK)  # the deploy's message in the channel
    assert running["auto_inactive"] is False and success["auto_inactive"] is False


def test_a_failing_deploy_ends_as_a_failure(make_line: Any, github: FakeGitHub) -> None:
    line = make_line(after_activate=["echo the app does not start >&2; exit 3"])
    revision = line.release("broken", "print(\n")
    line.slash("/deploy", "")
    assert line.finished(1)["status"] == "failed"
    [deployment] = github.wait_for_deployments(of(line.repo, revision, "in_progress", "failure"))
    description = deployment.updates[-1]["description"]
    assert description.startswith("Failed: ") and len(description) <= 140


def test_a_rollback_is_a_deployment_of_the_older_sha_and_the_replaced_one_turns_inactive(
    make_line: Any, github: FakeGitHub
) -> None:
    line = make_line(rollback_stops_line=False)
    first = line.release("first", "print(1)\n")
    line.slash("/deploy", "")
    line.finished(1)
    github.wait_for_deployments(of(line.repo, first, "in_progress", "success"))
    second = line.release("second", "print(2)\n")
    answer = line.slash("/deploy", "")
    assert "Deploying" in answer, answer
    line.finished(2)
    github.wait_for_deployments(of(line.repo, second, "in_progress", "success"))
    github.wait_for_deployments(of(line.repo, first, "in_progress", "success", "inactive"))

    line.slash("/rollback", f"production {first[:7]}", user="U0ANA", name="ana")
    assert line.finished(3)["kind"] == "rollback"
    [back] = github.wait_for_deployments(
        lambda d: d.project == line.repo and d.params["description"].startswith("Rollback")
    )
    assert back.params["ref"] == first
    assert back.params["description"] == f"Rollback of production to {first[:7]} by ana (slack)"
    github.wait_for_deployments(lambda d: d.id == back.id and d.states[-1:] == ["success"])
    assert back.updates[0]["description"] == f"Rolling back to {first[:7]}"
    assert back.updates[1]["description"].startswith(f"Rolled back to {first[:7]} on production")
    github.wait_for_deployments(of(line.repo, second, "in_progress", "success", "inactive"))
    assert [d.states for d in github.deployments() if d.project == line.repo] == [
        ["in_progress", "success", "inactive"],
        ["in_progress", "success", "inactive"],
        ["in_progress", "success"],
    ]


def test_gitlab_records_a_deploy_running_then_success_and_a_failure_as_failed(
    make_line: Any, gitlab: FakeGitLab
) -> None:
    line = make_line()
    good = line.release("first", "print(1)\n")
    line.slash("/deploy", "")
    line.finished(1)
    [deployment] = gitlab.wait_for_deployments(of(line.project, good, "running", "success"))
    assert deployment.params == {
        "environment": "production",
        "sha": good,
        "ref": "main",
        "tag": False,
        "status": "running",
    }
    assert deployment.updates == [{"status": "success"}]
    project = line.project.replace("/", "%2F")
    assert {call.path for call in gitlab.calls if project in call.path} == {
        f"/api/v4/projects/{project}/deployments",
        f"/api/v4/projects/{project}/deployments/{deployment.id}",
    }


def test_a_forge_that_is_down_gets_every_step_later_and_once(
    make_line: Any, github: FakeGitHub
) -> None:
    github.down(503)
    line = make_line()
    revision = line.release("first", "print(1)\n")
    line.slash("/deploy", "")
    assert line.finished(1)["status"] == "succeeded"  # the deploy did not wait for GitHub
    github.wait_for_calls(lambda c: line.repo in c.path and c.answered == 503, count=2)
    github.up()
    [deployment] = github.wait_for_deployments(of(line.repo, revision, "in_progress", "success"))
    created = [c for c in github.calls if c.path.endswith(f"{line.repo}/deployments")]
    assert [c.answered for c in created][-1] == 201 and sum(c.answered == 201 for c in created) == 1
    log = line.server.log()
    assert f"deployment not recorded on the forge: github {line.repo} deploy #1" in log
    assert "GitHub answered 503" in log and GITHUB_TOKEN not in log

    line.server.stop()  # a restart tells nothing twice: the next deploy's steps come after
    line.server.start()
    second = line.release("second", "print(2)\n")
    answer = line.slash("/deploy", "")
    assert "Deploying" in answer, answer
    line.finished(2)
    github.wait_for_deployments(of(line.repo, second, "in_progress", "success"))
    github.wait_for_deployments(of(line.repo, revision, "in_progress", "success", "inactive"))
    assert len([d for d in github.deployments() if d.project == line.repo]) == 2
    assert deployment.states == ["in_progress", "success", "inactive"]


def test_without_a_token_nothing_is_sent_and_serve_says_so(
    make_line: Any, github: FakeGitHub, gitlab: FakeGitLab
) -> None:
    line = make_line(tokens=False)
    line.release("first", "print(1)\n")
    line.slash("/deploy", "")
    assert line.finished(1)["status"] == "succeeded"
    log = line.server.log()
    assert "ANDON_GITHUB_TOKEN is unset: deploys are not recorded as GitHub deployments" in log
    assert "ANDON_GITLAB_TOKEN is unset: deploys are not recorded as GitLab deployments" in log
    assert "deployments: every deploy" not in log
    assert not [c for c in github.calls + gitlab.calls if line.repo.split("/")[1] in c.path]


def test_a_mistyped_repository_is_named_by_its_key(tmp_path: Path) -> None:
    config = tmp_path / "andon.toml"
    config.write_text('[forges]\ngithub = "acme"\ngitlab = "acme shop"\n')
    assert problems(config) == [
        "forges.github: 'acme' is not a GitHub repository; write owner/name",
        "forges.gitlab: 'acme shop' is not a GitLab project; write group/project or the "
        "project's id",
    ]
    config.write_text('[forges]\ngithub = "acme/shop.web"\ngitlab = "4711"\n')
    assert problems(config) == []


# --- the mirror round in-process, on both databases, with a clock the test moves ----------------


class Recording:
    """A forge that remembers each step it was told, and is down or refuses when told to."""

    marks_replaced = True

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, str]] = []  # (forge id, deploy id, state)
        self.refusal: ForgeDeploymentError | None = None
        self.meanwhile: Callable[[], None] | None = None  # runs while the forge is being asked

    def create(self, project: str, deploy: DeployFacts) -> Created:
        self._asked()
        self.calls.append((f"D{deploy.id}", deploy.id, "created"))
        return Created(f"D{deploy.id}", "created")

    def mark(self, project: str, forge_id: str, state: Shown, deploy: DeployFacts) -> None:
        self._asked()
        self.calls.append((forge_id, deploy.id, state))

    def _asked(self) -> None:
        if self.meanwhile is not None:
            self.meanwhile()
        if self.refusal is not None:
            raise self.refusal


def deploy_row(database: Database, clock: ManualClock, status: str, **fields: Any) -> int:
    with database.writing() as session:
        row = Deploy(
            kind="deploy",
            environment="production",
            revision=sha(),
            status=status,
            requested_by="U0MARIA",
            requested_by_name="maria",
            via="slack",
            **fields,
        )
        row.requested_at = clock.now()
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def finish(database: Database, clock: ManualClock, deploy_id: int, status: str) -> None:
    with database.writing() as session:
        row = session.get(Deploy, deploy_id)
        assert row is not None
        row.status, row.finished_at = status, clock.now()
        session.add(row)


def mirror(database: Database, clock: ManualClock, forge: Recording, *, holder: str = "me") -> Any:
    return mirror_due(
        database,
        clock=clock,
        forges={"github": forge},
        projects={"github": "acme/shop"},
        holder=holder,
    )


def test_each_step_is_told_once_in_order_and_an_outage_waits_longer_each_time(
    database: Database, clock: ManualClock
) -> None:
    old = deploy_row(database, clock, "succeeded")
    clock.advance(TAKE_ON + timedelta(minutes=1))
    deploy_row(database, clock, "cancelled")  # never approved: never a deployment
    current = deploy_row(database, clock, "running")
    forge = Recording()

    assert mirror(database, clock, forge) == Round(2, 0)
    assert forge.calls == [(f"D{current}", current, "created"), (f"D{current}", current, "running")]
    assert mirror(database, clock, forge) == Round(0, 0)  # it still runs: nothing new to tell
    finish(database, clock, current, "succeeded")
    assert mirror(database, clock, forge) == Round(1, 0)
    assert forge.calls[-1] == (f"D{current}", current, "succeeded")

    later = deploy_row(database, clock, "running")
    finish(database, clock, later, "succeeded")
    forge.refusal = ForgeDeploymentError("GitHub answered 503: down")
    assert mirror(database, clock, forge).failed == 1
    assert mirror(database, clock, forge) == Round(0, 0)  # waits 1 s before the next try
    clock.advance(timedelta(seconds=1))
    assert mirror(database, clock, forge).failed == 1
    with database.reading() as session:
        row = session.exec(select(ForgeDeployment).where(ForgeDeployment.deploy_id == later)).one()
        assert row.attempts == 2 and row.next_attempt_at == clock.now() + timedelta(seconds=2)
        assert row.last_error == "GitHub answered 503: down" and row.shown is None

    forge.refusal, told = None, len(forge.calls)
    clock.advance(timedelta(seconds=2))
    assert mirror(database, clock, forge) == Round(4, 0)
    assert forge.calls[told:] == [
        (f"D{later}", later, "created"),
        (f"D{later}", later, "running"),
        (f"D{later}", later, "succeeded"),
        (f"D{current}", current, "inactive"),  # once the forge shows its replacement live
    ]
    assert old not in {deploy_id for _, deploy_id, _ in forge.calls}
    assert mirror(database, clock, forge) == Round(0, 0)


def test_a_second_mirror_never_tells_a_step_another_one_holds(
    database: Database, clock: ManualClock
) -> None:
    deploy_id = deploy_row(database, clock, "running")
    forge, rival = Recording(), Recording()
    rounds: list[Any] = []
    forge.meanwhile = lambda: rounds.append(mirror(database, clock, rival, holder="rival"))

    assert mirror(database, clock, forge) == Round(2, 0)
    assert rounds == [Round(0, 0), Round(0, 0)] and rival.calls == []
    assert [state for _, _, state in forge.calls] == ["created", "running"]

    with database.writing() as session:  # a mirror that died holding the row
        session.execute(
            update(ForgeDeployment).values(
                claimed_by="gone", claimed_until=clock.now() + timedelta(minutes=1)
            )
        )
    finish(database, clock, deploy_id, "failed")
    forge.meanwhile = None
    assert mirror(database, clock, forge) == Round(0, 0)
    with database.writing() as session:
        assert forge_records.claimants(session) == ["gone"]
        assert forge_records.release(session, holders=["gone"]) == 1
    assert mirror(database, clock, forge) == Round(1, 0)
    assert forge.calls[-1] == (f"D{deploy_id}", deploy_id, "failed")


def test_a_request_the_forge_refuses_as_wrong_is_given_up(
    database: Database, clock: ManualClock
) -> None:
    deploy_row(database, clock, "running")
    forge = Recording()
    forge.refusal = ForgeDeploymentError("GitHub answered 422: No ref found", lasting=True)
    done = mirror(database, clock, forge)
    assert done.failed == 1 and "(given up)" in done.errors[0]
    forge.refusal = None
    clock.advance(forge_records.MAX_BACKOFF)
    assert mirror(database, clock, forge) == Round(0, 0)
    with database.reading() as session:
        row = session.exec(select(ForgeDeployment)).one()
        assert row.next_attempt_at is None and row.shown is None
        assert row.last_error == "GitHub answered 422: No ref found"
