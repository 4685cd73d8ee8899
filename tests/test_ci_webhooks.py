"""CI results through ``POST /hooks/ci/{provider}`` of a running ``andon serve``."""

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ci_payloads import generic, junit, post, sha
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, WEBHOOK_SECRET, AndonServer
from tests.slack_requests import slash_command

CONFIG = f"""
[slack]
channel = "{CHANNEL}"

[access]
admins = ["setup"]

[repo]
path = "/srv/git/app.git"
branch = "main"

[ci]
budget = "10m"

[people]
"dev@example.com" = "U0DEV0001"
"""
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack
) -> Iterator[AndonServer]:
    workdir = tmp_path_factory.mktemp("ci-hooks")
    running = AndonServer(
        workdir, database_url=f"sqlite:///{workdir / 'andon.db'}", slack=fake_slack, config=CONFIG
    )
    yield running.start()
    running.stop()


@pytest.fixture(autouse=True)
def running_line(server: AndonServer) -> None:
    server.reset()


def _said(fake: FakeSlack, text: str, **where: str) -> dict:
    def match(p: dict) -> bool:
        return text in p.get("text", "") and all(p.get(k) == v for k, v in where.items())

    return fake.wait_for("chat.postMessage", match)[-1].params


def _shown(blocks: list) -> str:
    """Blocks as text, as a person reads them (not JSON-escaped)."""
    return json.dumps(blocks, ensure_ascii=False)


def test_a_failing_build_on_main_is_announced_and_stops_the_line(
    server: AndonServer, fake_slack: FakeSlack
) -> None:
    rev = sha()
    xml = junit(("tests.test_cart", "test_empty_cart", "expected 0, got 1"))
    payload = generic(
        rev,
        "failed",
        url="https://ci.example.com/run/7",
        duration_s=125,
        junit_xml=xml,
        subject="cart: drop zero lines",
        author_name="Dev",
    )
    answer = post(server, "generic", payload)
    assert answer.status_code == 200, answer.text
    assert answer.json()["stopped_line"] is True

    shown = _said(fake_slack, f"CI failed on {rev[:7]} (main) — tests", channel=CHANNEL)
    blocks = _shown(shown["blocks"])
    assert "tests.test_cart::test_empty_cart" in blocks and "expected 0, got 1" in blocks
    assert "cart: drop zero lines" in blocks and "ran 2 min" in blocks
    assert "https://ci.example.com/run/7" in blocks
    stoppage = server.open_stoppage()
    assert [c["text"] for c in stoppage["causes"]] == [f"CI failed on {rev[:7]}"]
    _said(fake_slack, f"Line stopped by tests CI: CI failed on {rev[:7]}")


def test_a_redelivered_result_changes_nothing_and_is_not_announced_twice(
    server: AndonServer, fake_slack: FakeSlack
) -> None:
    rev = sha()
    payload = generic(rev, "failed", run_id="r-1", failed_tests=["t::x"])
    assert post(server, "generic", payload).json()["stopped_line"] is True
    _said(fake_slack, f"CI failed on {rev[:7]}")
    assert post(server, "generic", payload).json() == {"duplicate": True}
    server.cli("line", "status")  # let the courier run a round
    announced = [c for c in fake_slack.calls("chat.postMessage") if rev[:7] in c.params["text"]]
    assert len([c for c in announced if c.params["text"].startswith("CI failed")]) == 1


def test_a_failure_on_another_branch_goes_to_its_author_alone(
    server: AndonServer, fake_slack: FakeSlack
) -> None:
    rev = sha()
    payload = generic(
        rev,
        "failed",
        branch="feature/cart",
        author_email="Dev@Example.com",
        failed_tests=["tests/test_cart.py::test_total"],
    )
    assert post(server, "generic", payload).json()["stopped_line"] is False
    dm = _said(
        fake_slack, f"Your commit {rev[:7]} on feature/cart failed tests", channel="D0DEV0001"
    )
    assert "tests/test_cart.py::test_total" in _shown(dm["blocks"])
    assert server.api("/api/line").json()["state"] == "running"
    assert not [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.params.get("channel") == CHANNEL and rev[:7] in c.params["text"]
    ]


def test_the_build_that_turns_main_green_says_fixed_in_the_thread(
    server: AndonServer, fake_slack: FakeSlack
) -> None:
    red, green = sha(), sha()
    post(server, "generic", generic(red, "failed", failed_tests=["t::x"]))
    stoppage = server.open_stoppage()
    post(server, "generic", generic(green, "passed", url="https://ci.example.com/run/9"))
    fixed = _said(fake_slack, f"Fixed by {green[:7]}")
    assert fixed["thread_ts"] == stoppage["thread_ts"]
    assert server.api("/api/line").json()["state"] == "stopped"  # restarting stays human


def test_a_test_that_passed_in_the_previous_run_is_marked_new(
    server: AndonServer, fake_slack: FakeSlack
) -> None:
    post(server, "generic", generic(sha(), "failed", pipeline="unit", failed_tests=["a::old"]))
    rev = sha()
    post(
        server,
        "generic",
        generic(rev, "failed", pipeline="unit", failed_tests=["a::old", "a::fresh"]),
    )
    blocks = _shown(_said(fake_slack, f"CI failed on {rev[:7]} (main)")["blocks"])
    assert "`a::fresh` *new*" in blocks
    assert "`a::old` —" not in blocks and "`a::old` *new*" not in blocks


def test_a_run_over_the_budget_is_flagged(server: AndonServer, fake_slack: FakeSlack) -> None:
    rev = sha()
    post(server, "generic", generic(rev, "failed", duration_s=41 * 60, failed_tests=["t::slow"]))
    blocks = _shown(_said(fake_slack, f"CI failed on {rev[:7]} (main)")["blocks"])
    assert "over the 10 min budget" in blocks and "ran 41 min" in blocks


def test_more_than_ten_failing_tests_are_summed_up(
    server: AndonServer, fake_slack: FakeSlack
) -> None:
    rev = sha()
    post(server, "generic", generic(rev, "failed", failed_tests=[f"t::case{n}" for n in range(14)]))
    blocks = _shown(_said(fake_slack, f"CI failed on {rev[:7]} (main)")["blocks"])
    assert "t::case9" in blocks and "t::case10" not in blocks and "and 4 more" in blocks


def test_a_test_named_by_path_and_by_module_counts_once(
    server: AndonServer, fake_slack: FakeSlack
) -> None:
    rev = sha()
    named = ["tests/test_x.py::test_y", "tests/test_x.py::test_z[a.b]"]
    report = junit(("tests.test_x", "test_y", "boom"), ("tests.test_x", "test_z[a.b]", "bang"))
    post(server, "generic", generic(rev, "failed", failed_tests=named, junit_xml=report))
    blocks = _shown(_said(fake_slack, f"CI failed on {rev[:7]} (main)")["blocks"])
    assert "Failing tests (2)" in blocks
    # the first name, the message JUnit gave ("new" or not depends on what failed before)
    assert re.search(r"tests/test_x\.py::test_y`( \*new\*)? — boom", blocks)


def test_ci_status_tells_what_each_pipeline_said(server: AndonServer) -> None:
    rev = sha()
    post(server, "generic", generic(rev, "passed", pipeline="lint", branch="feature/x"))
    post(server, "generic", generic(rev, "running", pipeline="tests", branch="feature/x"))
    body, kind = slash_command(
        "/ci", rev[:9], user="U0MARIA", name="maria", response_url=server.slack.response_url()
    )
    answer = server.slack_post(body, kind).json()
    assert (
        answer["text"] == f"{rev[:7]} has no passing CI result yet (lint: passed, tests: running)"
    )
    shown = _shown(answer["blocks"])
    assert "*lint* — passed" in shown and "*tests* — running" in shown

    post(server, "generic", generic(rev, "passed", pipeline="tests", branch="feature/x"))
    cli = server.cli("ci", "status", rev)
    assert cli.returncode == 0 and f"{rev[:7]} is green" in cli.stdout


def test_ci_status_of_an_unknown_revision_says_so(server: AndonServer) -> None:
    answer = server.cli("ci", "status", "deadbee")
    assert answer.returncode == 1
    assert "No CI result for deadbee yet." in answer.stdout
    assert server.cli("ci", "status", "../etc").returncode == 1


def test_github_workflow_run_is_read_and_its_redelivery_ignored(
    server: AndonServer, fake_slack: FakeSlack
) -> None:
    payload = json.loads((FIXTURES / "github" / "workflow_run.completed.json").read_text())
    run = payload["workflow_run"]
    rev = sha()
    run.update(head_sha=rev, head_branch="main", conclusion="failure")
    headers = {"X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": f"delivery-{rev}"}
    assert post(server, "github", payload, headers=headers).status_code == 200
    _said(fake_slack, f"CI failed on {rev[:7]} (main)")
    again = post(server, "github", payload, headers=headers)
    assert again.status_code == 200 and again.json() == {"duplicate": True}


def test_other_github_events_are_answered_and_ignored(server: AndonServer) -> None:
    payload = {"zen": "Keep it logically awesome.", "hook_id": 1}
    answer = post(server, "github", payload, headers={"X-GitHub-Event": "ping"})
    assert answer.status_code == 202 and "ignored" in answer.json()


def test_an_opened_pull_request_is_tracked_for_its_commit_status(server: AndonServer) -> None:
    payload = json.loads((FIXTURES / "github" / "pull_request.opened.json").read_text())
    answer = post(server, "github", payload, headers={"X-GitHub-Event": "pull_request"})
    assert answer.status_code == 202
    assert answer.json()["tracked"] == {
        "forge": "github",
        "project": "Codertocat/Hello-World",
        "number": 2,
        "head_sha": payload["pull_request"]["head"]["sha"],
        "open": True,
    }
    assert "ANDON_GITHUB_TOKEN is unset: no andon/line status" in server.log()


@pytest.mark.parametrize(
    ("provider", "headers", "sign", "status"),
    [
        ("generic", {}, False, 401),
        ("generic", {"X-Andon-Signature": "sha256=" + "0" * 64}, False, 401),
        ("generic", {"Authorization": "Bearer not-the-secret"}, False, 401),
        ("teamcity", {}, True, 404),
    ],
)
def test_unauthenticated_or_unknown_deliveries_are_refused_and_write_nothing(
    server: AndonServer, provider: str, headers: dict, sign: bool, status: int
) -> None:
    before = len(server.api("/api/audit?limit=1000").json()["entries"])
    rev = sha()
    answer = post(server, provider, generic(rev, "failed"), headers=headers, sign=sign)
    assert answer.status_code == status
    assert len(server.api("/api/audit?limit=1000").json()["entries"]) == before
    assert server.api("/api/line").json()["state"] == "running"


def test_a_body_that_is_not_json_is_a_400(server: AndonServer) -> None:
    answer = post(server, "generic", None, raw=b"{not json")
    assert answer.status_code == 400 and "not JSON" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"branch": "main", "status": "failed"}, "revision"),
        ({"revision": "abc", "branch": "main", "status": "failed"}, "revision"),
        ({"revision": "a" * 40, "branch": "main", "status": "exploded"}, "status"),
        (
            {"revision": "a" * 40, "branch": "main", "status": "failed", "junit_xml": "<x"},
            "junit_xml",
        ),
    ],
)
def test_a_malformed_result_is_a_422_naming_the_field(
    server: AndonServer, payload: dict, field: str
) -> None:
    answer = post(server, "generic", payload)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert server.cli("ci", "status", "a" * 40).returncode == 1  # nothing was stored


def test_bearer_authentication_works_for_senders_that_cannot_sign(server: AndonServer) -> None:
    answer = post(
        server,
        "generic",
        generic(sha(), "running"),
        sign=False,
        headers={"Authorization": f"Bearer {WEBHOOK_SECRET}"},
    )
    assert answer.status_code == 200


def _gitlab(rev: str) -> tuple[dict, dict]:
    payload = json.loads((FIXTURES / "gitlab" / "pipeline.failed.json").read_text())
    payload["object_attributes"]["sha"] = rev
    return payload, {"X-Gitlab-Token": WEBHOOK_SECRET, "X-Gitlab-Event": "Pipeline Hook"}


def _buildbot(rev: str) -> tuple[dict, dict]:
    payload = json.loads((FIXTURES / "buildbot" / "build.finished.failure.json").read_text())
    payload["buildset"]["sourcestamps"][0]["revision"] = rev
    payload.setdefault("properties", {})["got_revision"] = [rev, "Git"]
    basic = base64.b64encode(f"buildbot:{WEBHOOK_SECRET}".encode()).decode()
    return payload, {"Authorization": f"Basic {basic}"}


def _jenkins(rev: str) -> tuple[dict, dict]:
    payload = json.loads((FIXTURES / "jenkins" / "finalized.unstable.json").read_text())
    payload["build"]["scm"]["commit"] = rev
    return payload, {"Authorization": f"Bearer {WEBHOOK_SECRET}"}


@pytest.mark.parametrize(
    ("provider", "build", "names_tests"),
    [("gitlab", _gitlab, True), ("buildbot", _buildbot, False), ("jenkins", _jenkins, True)],
)
def test_each_ci_s_own_red_build_on_main_stops_the_line_once(
    server: AndonServer, fake_slack: FakeSlack, provider: str, build, names_tests: bool
) -> None:
    rev = sha()
    payload, headers = build(rev)
    answer = post(server, provider, payload, headers=headers, sign=False)
    assert answer.status_code == 200, answer.text
    said = _said(fake_slack, f"CI failed on {rev[:7]} (main)", channel=CHANNEL)
    listed = "Failing tests" in _shown(said["blocks"])  # Buildbot's record names no tests
    assert listed == names_tests
    assert server.open_stoppage()["causes"][-1]["text"] == f"CI failed on {rev[:7]}"
    again = post(server, provider, payload, headers=headers, sign=False)
    assert again.json() == {"duplicate": True}
