"""A stopped line blocks merges on hosted forges: open pull/merge request heads show ``andon/line``.

A running ``andon serve`` hears pull and merge requests through its CI webhook and publishes the
line's state on their heads through fake GitHub and GitLab APIs that check every request.
"""

import copy
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from core import review
from core.clock import ManualClock
from core.review import ForgeError
from storage.database import Database
from storage.tables import ReviewHead
from tests.ci_payloads import post, sha
from tests.fakes.forges import FakeGitHub, FakeGitLab, Status
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, RESET, WEBHOOK_SECRET, AndonServer

GITHUB_TOKEN = "ghp_test0000000000andon"
GITLAB_TOKEN = "glpat-test-0000-andon"
REPO = "Codertocat/Hello-World"  # the fixture's repository
GITLAB_PROJECT = "4711"
PULL_REQUEST = json.loads(
    (Path(__file__).parent / "fixtures" / "github" / "pull_request.opened.json").read_text()
)
_numbers = itertools.count(100)
ME = "andon-test:1:000000"  # the replica that publishes, in the in-process rounds


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


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    fake_slack: FakeSlack,
    github: FakeGitHub,
    gitlab: FakeGitLab,
) -> Iterator[AndonServer]:
    workdir = tmp_path_factory.mktemp("forges")
    config = (
        f'[slack]\nchannel = "{CHANNEL}"\n\n[access]\nadmins = ["setup"]\n\n'
        f'[forges]\ngithub_api = "{github.api}"\ngitlab_api = "{gitlab.api}"\n'
    )
    running = AndonServer(
        workdir, database_url=f"sqlite:///{workdir / 'andon.db'}", slack=fake_slack, config=config
    )
    running.env.update(ANDON_GITHUB_TOKEN=GITHUB_TOKEN, ANDON_GITLAB_TOKEN=GITLAB_TOKEN)
    yield running.start()
    running.stop()


@pytest.fixture(autouse=True)
def running_line(server: AndonServer, github: FakeGitHub, gitlab: FakeGitLab) -> Iterator[None]:
    server.reset()
    yield
    assert github.problems == [] and gitlab.problems == []


def pull_request(action: str, *, number: int, head: str) -> dict[str, Any]:
    """GitHub's pull_request delivery (octokit's fixture) for another action and head."""
    payload = copy.deepcopy(PULL_REQUEST)
    payload.update(action=action, number=number)
    pull = payload["pull_request"]
    pull.update(number=number, state="closed" if action == "closed" else "open")
    pull["head"]["sha"] = head
    return payload


def github_hook(server: AndonServer, action: str, *, number: int, head: str) -> dict[str, Any]:
    payload = pull_request(action, number=number, head=head)
    answer = post(server, "github", payload, headers={"X-GitHub-Event": "pull_request"})
    assert answer.status_code == 202, answer.text
    return answer.json()


def merge_request(server: AndonServer, *, iid: int, head: str, state: str) -> dict[str, Any]:
    """GitLab's Merge request event, as its webhook documentation shows it (abridged)."""
    payload = {
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "user": {"id": 1, "name": "Administrator", "username": "root"},
        "project": {
            "id": int(GITLAB_PROJECT),
            "name": "app",
            "path_with_namespace": "group/app",
            "web_url": "https://gitlab.example.com/group/app",
        },
        "object_attributes": {
            "id": 90 + iid,
            "iid": iid,
            "target_branch": "main",
            "source_branch": f"feature-{iid}",
            "source_project_id": int(GITLAB_PROJECT),
            "target_project_id": int(GITLAB_PROJECT),
            "title": "Feature",
            "state": state,
            "action": {"opened": "open", "closed": "close", "merged": "merge"}.get(state, "update"),
            "last_commit": {"id": head, "message": "feature\n", "title": "feature"},
        },
    }
    answer = post(server, "gitlab", payload, headers={"X-Gitlab-Token": WEBHOOK_SECRET}, sign=False)
    assert answer.status_code == 202, answer.text
    return answer.json()


def on(sha: str, state: str, description: str | None = None) -> Any:
    def match(status: Status) -> bool:
        shown = status.params["state"] == state and status.sha == sha
        return shown and (description is None or status.params["description"] == description)

    return match


def stop(server: AndonServer, reason: str) -> int:
    assert server.cli("line", "stop", reason, "--as", "maria").returncode == 0
    return server.api("/api/line").json()["stoppage"]["id"]


def test_an_opened_pull_request_shows_success_while_the_line_runs(
    server: AndonServer, github: FakeGitHub
) -> None:
    head, number = sha(), next(_numbers)
    answer = github_hook(server, "opened", number=number, head=head)
    assert answer == {
        "tracked": {
            "forge": "github",
            "project": REPO,
            "number": number,
            "head_sha": head,
            "open": True,
        }
    }
    [shown] = github.wait_for(on(head, "success"))
    assert "commit statuses: andon/line on open heads at github, gitlab" in server.log()
    assert shown.project == REPO
    assert shown.params == {"state": "success", "description": "Line runs", "context": "andon/line"}


def test_stopping_the_line_fails_every_open_head_and_starting_it_passes_them_again(
    server: AndonServer, github: FakeGitHub
) -> None:
    first, second = sha(), sha()
    github_hook(server, "opened", number=next(_numbers), head=first)
    github_hook(server, "reopened", number=next(_numbers), head=second)
    github.wait_for(on(second, "success"))

    stoppage = stop(server, "checkout is down for everyone")
    said = f"Line stopped: checkout is down for everyone (stoppage #{stoppage})"
    for head in (first, second):
        github.wait_for(on(head, "failure", said))

    assert server.cli(*RESET).returncode == 0
    for head in (first, second):
        github.wait_for(on(head, "success"), count=2)


def test_a_long_reason_is_cut_to_what_github_takes(server: AndonServer, github: FakeGitHub) -> None:
    head = sha()
    github_hook(server, "opened", number=next(_numbers), head=head)
    github.wait_for(on(head, "success"))
    stoppage = stop(server, "the payment provider times out " * 10)
    [shown] = github.wait_for(on(head, "failure"))
    assert len(shown.params["description"]) <= 140
    assert shown.params["description"].startswith("Line stopped: the payment provider times out")
    assert shown.params["description"].endswith(f"… (stoppage #{stoppage})")


def test_a_new_head_gets_the_status_and_the_old_one_is_left_alone(
    server: AndonServer, github: FakeGitHub
) -> None:
    old, new, number = sha(), sha(), next(_numbers)
    github_hook(server, "opened", number=number, head=old)
    github.wait_for(on(old, "success"))

    github_hook(server, "synchronize", number=number, head=new)
    github.wait_for(on(new, "success"))
    stop(server, "flaky deploys")
    github.wait_for(on(new, "failure"))
    assert [s.params["state"] for s in github.statuses(old)] == ["success"]


def test_a_closed_pull_request_is_no_longer_refreshed(
    server: AndonServer, github: FakeGitHub
) -> None:
    closed, still_open = sha(), sha()
    closed_number = next(_numbers)
    github_hook(server, "opened", number=closed_number, head=closed)
    github.wait_for(on(closed, "success"))
    assert (
        github_hook(server, "closed", number=closed_number, head=closed)["tracked"]["open"] is False
    )
    github_hook(server, "opened", number=next(_numbers), head=still_open)
    github.wait_for(on(still_open, "success"))

    stop(server, "disk full on web1")
    # Heads are published in the order they were first seen: the closed one would come first.
    github.wait_for(on(still_open, "failure"))
    assert [s.params["state"] for s in github.statuses(closed)] == ["success"]


def test_a_forge_error_is_retried_and_does_not_hold_up_the_other_heads(
    server: AndonServer, github: FakeGitHub
) -> None:
    unlucky, lucky = sha(), sha()
    github_hook(server, "opened", number=next(_numbers), head=unlucky)
    github_hook(server, "opened", number=next(_numbers), head=lucky)
    github.wait_for(on(lucky, "success"))
    github.wait_for(on(unlucky, "success"))

    github.fail(500, sha=unlucky)
    stop(server, "alerts firing")
    github.wait_for(on(lucky, "failure"))
    github.wait_for(on(unlucky, "failure"))
    tries = [(s.params["state"], s.answered) for s in github.statuses(unlucky)]
    assert tries == [("success", 201), ("failure", 500), ("failure", 201)]


def test_a_gitlab_merge_request_gets_the_same_through_the_commit_status_api(
    server: AndonServer, gitlab: FakeGitLab
) -> None:
    head, merged, iid = sha(), sha(), next(_numbers)
    answer = merge_request(server, iid=iid, head=head, state="opened")
    assert answer["tracked"] == {
        "forge": "gitlab",
        "project": GITLAB_PROJECT,
        "number": iid,
        "head_sha": head,
        "open": True,
    }
    [shown] = gitlab.wait_for(on(head, "success"))
    assert shown.project == GITLAB_PROJECT
    assert shown.params == {"state": "success", "name": "andon/line", "description": "Line runs"}
    merged_iid = next(_numbers)
    merge_request(server, iid=merged_iid, head=merged, state="opened")
    gitlab.wait_for(on(merged, "success"))
    merge_request(server, iid=merged_iid, head=merged, state="merged")

    gitlab.fail(502, sha=head)
    stoppage = stop(server, "migration locked the orders table")
    said = f"Line stopped: migration locked the orders table (stoppage #{stoppage})"
    gitlab.wait_for(on(head, "failed", said))
    assert server.cli(*RESET).returncode == 0
    gitlab.wait_for(on(head, "success"), count=2)
    assert [s.params["state"] for s in gitlab.statuses(merged)] == ["success"]
    assert [s.answered for s in gitlab.statuses(head)] == [201, 502, 201, 201]


# --- the reconcile round in-process, on both databases, with a clock the test moves --------------


class Recording:
    """A forge port that remembers what it was asked and refuses the projects it is told to."""

    def __init__(self, *, refuse: set[str] | None = None) -> None:
        self.refuse = refuse or set()
        self.calls: list[tuple[str, str, str]] = []

    def publish(self, project: str, sha: str, state: str, description: str) -> None:
        self.calls.append((project, sha, state))
        if project in self.refuse:
            raise ForgeError(f"{project}: 500")


def test_a_refused_head_waits_and_is_retried_while_the_others_are_published(
    database: Database, clock: ManualClock
) -> None:
    down, up = sha(), sha()
    with database.writing() as session:
        for project, head in (("acme/down", down), ("acme/up", up)):
            review.track(
                session,
                clock=clock,
                forge="github",
                project=project,
                number=1,
                head_sha=head,
                open=True,
            )
    forge = Recording(refuse={"acme/down"})
    forges = {"github": forge}
    assert review.publish_due(database, clock=clock, forges=forges, holder=ME) == review.Round(1, 1)
    assert forge.calls == [("acme/down", down, "success"), ("acme/up", up, "success")]
    assert review.publish_due(database, clock=clock, forges=forges, holder=ME) == review.Round(0, 0)

    forge.refuse.clear()
    clock.advance(review.RETRY_AFTER)
    assert review.publish_due(database, clock=clock, forges=forges, holder=ME) == review.Round(1, 0)
    with database.reading() as session:
        heads = session.exec(select(ReviewHead).order_by(col(ReviewHead.id))).all()
        assert [(h.published, h.published_sha, h.last_error) for h in heads] == [
            ("success", down, None),
            ("success", up, None),
        ]
        assert review.due(session, clock=clock) == []
