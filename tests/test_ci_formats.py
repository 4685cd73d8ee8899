"""Every CI's webhook body becomes the same build report; what is not a result is ignored."""

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.http.ci import READERS
from core.ci.report import (
    MAX_FAILED_TESTS_KEPT,
    BadReportError,
    BuildReport,
    BuildStatus,
    FailedTest,
    Ignored,
)
from core.review import ReviewEvent

FIXTURES = Path(__file__).parent / "fixtures"


def payload(provider: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / provider / f"{name}.json").read_text())


def report(provider: str, body: object, headers: dict[str, str] | None = None) -> BuildReport:
    read = READERS[provider](headers or {}, body)
    assert isinstance(read, BuildReport), read
    return read


def ignored(provider: str, body: object, headers: dict[str, str] | None = None) -> str:
    read = READERS[provider](headers or {}, body)
    assert isinstance(read, Ignored), read
    return read.why


def refused(provider: str, body: object, headers: dict[str, str] | None = None) -> str:
    with pytest.raises(BadReportError) as bad:
        READERS[provider](headers or {}, body)
    return bad.value.field


def test_there_is_a_reader_for_each_supported_ci() -> None:
    assert set(READERS) == {"github", "gitlab", "buildbot", "jenkins", "generic"}


@pytest.mark.parametrize("provider", sorted(READERS))
def test_a_body_that_is_not_a_json_object_is_refused(provider: str) -> None:
    headers = {"X-GitHub-Event": "workflow_run"}
    assert refused(provider, ["not", "an", "object"], headers) == "body"


# GitHub ---------------------------------------------------------------------------------------

RUN = {"X-GitHub-Event": "workflow_run"}
SUITE = {"X-GitHub-Event": "check_suite"}


def workflow_run(**changes: object) -> dict[str, Any]:
    body = payload("github", "workflow_run.completed")
    body["workflow_run"].update(changes)
    return body


def test_a_successful_workflow_run_is_a_passed_build_of_its_commit() -> None:
    got = report("github", workflow_run(), RUN)
    assert (got.provider, got.status) == ("github", BuildStatus.PASSED)
    assert got.revision == "3484a3fb816e0859fd6e1cea078d76385ff50625"
    assert got.branch == "master"
    assert got.pipeline == "test"  # the run's name is blank: the workflow's name is used
    assert got.run_id == "289782451.1"
    assert got.url == "https://github.com/octo-org/octo-repo/actions/runs/289782451"
    assert got.subject == "build(test): check workflow run event payload"
    assert (got.author_name, got.author_email) == (
        "Matthias Fax",
        "matfax@users.noreply.github.com",
    )
    assert got.finished_at == datetime(2020, 10, 5, 16, 33, 49, tzinfo=UTC)


def test_a_workflow_runs_duration_runs_from_its_start_to_its_last_update() -> None:
    got = report("github", workflow_run(run_started_at="2020-10-05T16:23:37Z"), RUN)
    assert got.duration == timedelta(minutes=10, seconds=12)


@pytest.mark.parametrize("conclusion", ["failure", "timed_out", "startup_failure"])
def test_a_workflow_run_that_did_not_succeed_is_a_failed_build(conclusion: str) -> None:
    assert report("github", workflow_run(conclusion=conclusion), RUN).status is BuildStatus.FAILED


@pytest.mark.parametrize("conclusion", ["cancelled", "skipped"])
def test_a_cancelled_or_skipped_workflow_run_ends_as_canceled(conclusion: str) -> None:
    got = report("github", workflow_run(conclusion=conclusion), RUN)
    assert (got.status, got.failed_tests) == (BuildStatus.CANCELED, ())


@pytest.mark.parametrize("conclusion", ["neutral", "action_required", "stale"])
def test_a_workflow_run_that_says_nothing_about_the_commit_is_ignored(conclusion: str) -> None:
    assert conclusion in ignored("github", workflow_run(conclusion=conclusion), RUN)


def test_a_requested_workflow_run_is_ignored_until_it_runs() -> None:
    body = workflow_run(conclusion=None, status="queued")
    body["action"] = "requested"
    assert "queued" in ignored("github", body, RUN)


def test_a_workflow_run_in_progress_is_a_running_build_of_its_commit() -> None:
    body = workflow_run(conclusion=None, status="in_progress")
    body["action"] = "in_progress"
    got = report("github", body, RUN)
    assert (got.status, got.run_id, got.finished_at) == (BuildStatus.RUNNING, "289782451.1", None)


def test_the_event_header_is_read_whatever_its_case() -> None:
    assert report("github", workflow_run(), {"x-github-event": "workflow_run"})
    assert report("github", workflow_run(), {"X-GITHUB-EVENT": "workflow_run"})


def test_a_redelivered_workflow_run_is_the_same_result_and_a_rerun_is_another() -> None:
    first = report("github", workflow_run(conclusion="failure"), RUN)
    again = report("github", workflow_run(conclusion="failure"), RUN)
    rerun = report("github", workflow_run(conclusion="failure", run_attempt=2), RUN)
    assert first.identity == again.identity
    assert rerun.identity != first.identity and rerun.run_id == "289782451.2"


def test_a_check_suite_of_another_app_is_a_build_named_after_the_app() -> None:
    got = report("github", payload("github", "check_suite.completed"), SUITE)
    assert (got.status, got.pipeline, got.run_id) == (
        BuildStatus.PASSED,
        "octocoders-linter",
        "118578147",
    )
    assert got.revision == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    assert got.branch == "changes"
    assert got.url == (
        "https://github.com/Codertocat/Hello-World/commit/"
        "ec26c3e57ca3a959ca5aad62de7213c562f8c821/checks"
    )
    assert got.duration == timedelta(seconds=43)


@pytest.mark.parametrize("app", [{"slug": "github-actions"}, {"name": "GitHub Actions"}])
def test_a_check_suite_of_github_actions_is_ignored_as_its_workflow_run_reports(app: dict) -> None:
    body = payload("github", "check_suite.completed")
    body["check_suite"]["app"].update(app)
    body["check_suite"]["conclusion"] = "failure"
    assert "workflow_run" in ignored("github", body, SUITE)


@pytest.mark.parametrize(
    ("event", "fixture"),
    [
        ("ping", None),
        ("push", None),
        ("status", None),
        ("workflow_job", None),
    ],
)
def test_other_github_events_are_answered_and_ignored(event: str, fixture: str | None) -> None:
    body = payload("github", fixture) if fixture else {"zen": "Keep it logically awesome."}
    assert event in ignored("github", body, {"X-GitHub-Event": event})


PULL = {"X-GitHub-Event": "pull_request"}


def review(provider: str, body: object, headers: dict[str, str] | None = None) -> ReviewEvent:
    read = READERS[provider](headers or {}, body)
    assert isinstance(read, ReviewEvent), read
    return read


def pull_request(action: str) -> dict[str, Any]:
    body = payload("github", "pull_request.opened")
    body["action"] = action
    if action == "closed":
        body["pull_request"]["state"] = "closed"
    return body


@pytest.mark.parametrize("action", ["opened", "reopened", "synchronize", "ready_for_review"])
def test_a_pull_request_whose_head_moved_is_an_open_review(action: str) -> None:
    body = pull_request(action)
    assert review("github", body, PULL) == ReviewEvent(
        forge="github",
        project="Codertocat/Hello-World",
        number=2,
        head_sha=body["pull_request"]["head"]["sha"],
        open=True,
    )


def test_a_closed_pull_request_is_a_review_no_longer_open() -> None:
    assert review("github", pull_request("closed"), PULL).open is False


@pytest.mark.parametrize("action", ["labeled", "edited", "assigned", "review_requested"])
def test_pull_request_actions_that_leave_the_head_alone_are_ignored(action: str) -> None:
    assert action in ignored("github", pull_request(action), PULL)


def test_a_pull_request_without_a_head_sha_is_refused() -> None:
    body = pull_request("opened")
    body["pull_request"]["head"]["sha"] = "main"
    assert refused("github", body, PULL) == "pull_request.head.sha"


def test_a_github_delivery_without_its_event_header_is_refused() -> None:
    assert refused("github", workflow_run(), {}) == "X-GitHub-Event"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"head_sha": None}, "workflow_run.head_sha"),
        ({"head_sha": "3484a3f"}, "workflow_run.head_sha"),
        ({"head_sha": 3484}, "workflow_run.head_sha"),
        ({"conclusion": "exploded"}, "workflow_run.conclusion"),
        ({"conclusion": None}, "workflow_run.conclusion"),
        ({"id": None}, "workflow_run.id"),
        ({"run_started_at": "yesterday"}, "workflow_run.run_started_at"),
        ({"head_commit": "a string"}, "workflow_run.head_commit"),
    ],
)
def test_a_malformed_workflow_run_is_refused_naming_the_field(change: dict, field: str) -> None:
    assert refused("github", workflow_run(**change), RUN) == field


def test_a_completed_workflow_run_event_without_the_run_is_refused() -> None:
    assert refused("github", {"action": "completed"}, RUN) == "workflow_run"


# GitLab ---------------------------------------------------------------------------------------


def pipeline(fixture: str = "pipeline.failed", **changes: object) -> dict[str, Any]:
    body = payload("gitlab", fixture)
    body["object_attributes"].update(changes)
    return body


def test_a_failed_gitlab_pipeline_is_a_failed_build_naming_its_failed_jobs() -> None:
    got = report("gitlab", pipeline())
    assert (got.provider, got.status) == ("gitlab", BuildStatus.FAILED)
    assert got.revision == "9f1c4b2e8d7a6053b4c1e2f3a4b5c6d7e8f90a1b"
    # named after the project, never after workflow:name ("tests"), which is its label
    assert (got.branch, got.pipeline, got.run_id) == ("main", "shop/storefront", "1187")
    assert got.label == "tests"
    assert got.url == "https://gitlab.example.com/shop/storefront/-/pipelines/1187"
    assert got.duration == timedelta(seconds=584)
    assert got.subject == "Checkout: round the VAT per line, not per basket"
    assert (got.author_name, got.author_email) == ("Maria Kovač", "maria@shop.example")
    assert got.finished_at == datetime(2024, 3, 14, 9, 22, 15, tzinfo=UTC)
    # stylelint failed too, but it is allowed to fail: it did not fail the pipeline
    assert got.failed_tests == (FailedTest("job:unit", "test"),)


def test_a_successful_gitlab_pipeline_is_a_passed_build() -> None:
    got = report("gitlab", payload("gitlab", "pipeline.success"))
    assert (got.status, got.failed_tests) == (BuildStatus.PASSED, ())


def test_a_running_gitlab_pipeline_is_a_running_build() -> None:
    got = report("gitlab", pipeline("pipeline.success", status="running", finished_at=None))
    assert got.status is BuildStatus.RUNNING


@pytest.mark.parametrize(
    "status", ["created", "pending", "waiting_for_resource", "preparing", "scheduled"]
)
def test_a_queued_gitlab_pipeline_is_ignored_until_it_runs(status: str) -> None:
    assert "queued" in ignored("gitlab", pipeline(status=status))


@pytest.mark.parametrize("status", ["canceled", "skipped"])
def test_a_canceled_or_skipped_gitlab_pipeline_ends_as_canceled(status: str) -> None:
    got = report("gitlab", pipeline(status=status))
    assert (got.status, got.failed_tests) == (BuildStatus.CANCELED, ())


def test_a_canceling_gitlab_pipeline_is_ignored_until_it_is_canceled() -> None:
    assert "canceling" in ignored("gitlab", pipeline(status="canceling"))


def test_a_gitlab_pipeline_waiting_on_a_manual_job_passed_unless_a_job_failed() -> None:
    waiting = report("gitlab", pipeline("pipeline.success", status="manual"))
    assert (waiting.status, waiting.failed_tests) == (BuildStatus.PASSED, ())
    red = report("gitlab", pipeline(status="manual"))
    assert (red.status, red.failed_tests) == (BuildStatus.FAILED, (FailedTest("job:unit", "test"),))


@pytest.mark.parametrize(
    ("change", "branch", "pipeline_name"),
    [
        ({"source": "merge_request_event"}, None, "shop/storefront · merge request"),
        ({"source": "schedule"}, "main", "shop/storefront · schedule"),
        ({"source": "parent_pipeline"}, "main", "shop/storefront · child"),
        ({"source": "web"}, "main", "shop/storefront"),
    ],
)
def test_a_gitlab_pipeline_is_named_after_its_project_and_kind(
    change: dict, branch: str | None, pipeline_name: str
) -> None:
    got = report("gitlab", pipeline(**change))
    assert (got.branch, got.pipeline) == (branch, pipeline_name)


def test_a_gitlab_merge_request_pipeline_is_filed_under_the_requests_ref() -> None:
    body = pipeline(source="merge_request_event")
    body["merge_request"] = {"id": 99, "iid": 12, "source_branch": "main", "target_branch": "main"}
    got = report("gitlab", body)
    assert (got.branch, got.pipeline) == (
        "refs/merge-requests/12/head",
        "shop/storefront · merge request",
    )


def merge_request(state: str, **attributes: Any) -> dict[str, Any]:
    return {
        "object_kind": "merge_request",
        "project": {"id": 15, "path_with_namespace": "group/app"},
        "object_attributes": {
            "iid": 7,
            "state": state,
            "last_commit": {"id": "DA1560886D4F094C3E6C9EF40349F7D38B5D27D7"},
            **attributes,
        },
    }


@pytest.mark.parametrize(
    ("state", "open_"), [("opened", True), ("closed", False), ("merged", False)]
)
def test_a_gitlab_merge_request_is_a_review_of_its_last_commit(state: str, open_: bool) -> None:
    assert review("gitlab", merge_request(state)) == ReviewEvent(
        forge="gitlab",
        project="15",
        number=7,
        head_sha="da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
        open=open_,
    )


def test_a_gitlab_merge_request_without_its_iid_is_refused() -> None:
    assert refused("gitlab", merge_request("opened", iid="seven")) == "object_attributes.iid"


def test_other_gitlab_hooks_are_ignored() -> None:
    assert "push" in ignored("gitlab", {"object_kind": "push", "checkout_sha": "abc"})


def test_a_gitlab_pipeline_without_a_project_is_called_gitlab_ci() -> None:
    body = pipeline()
    del body["object_attributes"]["name"]
    body["project"] = None
    got = report("gitlab", body)
    assert (got.pipeline, got.label) == ("gitlab-ci", None)


def test_a_gitlab_tag_pipeline_has_no_branch() -> None:
    assert report("gitlab", pipeline(tag=True, ref="v2.4.0")).branch is None


def test_a_gitlab_pipeline_without_its_url_links_to_the_projects_pipeline_page() -> None:
    assert report("gitlab", pipeline(url=None)).url == (
        "https://gitlab.example.com/shop/storefront/-/pipelines/1187"
    )


def test_an_upper_case_sha_is_filed_lower_case() -> None:
    got = report("gitlab", pipeline(sha="9F1C4B2E8D7A6053B4C1E2F3A4B5C6D7E8F90A1B"))
    assert got.revision == "9f1c4b2e8d7a6053b4c1e2f3a4b5c6d7e8f90a1b"


def test_a_redelivered_gitlab_pipeline_is_the_same_result() -> None:
    assert report("gitlab", pipeline()).identity == report("gitlab", pipeline()).identity


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sha": None}, "object_attributes.sha"),
        ({"sha": "not-a-sha"}, "object_attributes.sha"),
        ({"status": "exploded"}, "object_attributes.status"),
        ({"status": 3}, "object_attributes.status"),
        ({"duration": "584"}, "object_attributes.duration"),
        ({"id": None}, "object_attributes.id"),
        ({"finished_at": "soon"}, "object_attributes.finished_at"),
    ],
)
def test_a_malformed_gitlab_pipeline_is_refused_naming_the_field(change: dict, field: str) -> None:
    assert refused("gitlab", pipeline(**change)) == field


def test_gitlab_jobs_that_are_not_a_list_or_lack_a_name_are_refused_naming_the_field() -> None:
    body = pipeline()
    body["builds"] = {"unit": "failed"}
    assert refused("gitlab", body) == "builds"
    body = pipeline()
    del body["builds"][1]["name"]
    assert refused("gitlab", body) == "builds[1].name"


# Buildbot -------------------------------------------------------------------------------------


def build(fixture: str = "build.finished.failure", **changes: object) -> dict[str, Any]:
    body = payload("buildbot", fixture)
    body.update(changes)
    return body


def test_a_failed_buildbot_build_is_a_failed_build_of_its_sourcestamp() -> None:
    got = report("buildbot", build())
    assert (got.provider, got.status) == ("buildbot", BuildStatus.FAILED)
    assert got.revision == "3b8e1f0a9c2d4e6f8a0b1c3d5e7f9a1b3c5d7e9f"
    assert (got.branch, got.pipeline, got.run_id) == ("main", "storefront-tests", "5123")
    assert got.url == "https://buildbot.example.com/#/builders/4/builds/311"
    assert got.duration == timedelta(seconds=612)
    assert got.finished_at == datetime.fromtimestamp(1710408135, tz=UTC)


@pytest.mark.parametrize(
    ("results", "status", "infrastructure"),
    [
        (0, "passed", False),
        (1, "passed", False),
        (2, "failed", False),
        (3, "canceled", False),
        (4, "failed", True),
        (6, "canceled", False),
    ],
)
def test_buildbot_result_codes_map_to_a_status(
    results: int, status: str, infrastructure: bool
) -> None:
    got = report("buildbot", build(results=results))
    assert (got.status, got.infrastructure) == (status, infrastructure)


def test_a_retried_buildbot_build_is_ignored_as_the_retry_reports() -> None:
    assert "retried" in ignored("buildbot", build(results=5))


def test_a_new_buildbot_build_is_running() -> None:
    got = report("buildbot", build("build.new"))
    assert (got.status, got.duration) == (BuildStatus.RUNNING, None)


def test_the_got_revision_property_stands_in_for_a_sourcestamp_without_revision() -> None:
    body = build()
    body["buildset"]["sourcestamps"][0]["revision"] = None
    body["properties"]["got_revision"] = ["AB" * 20, "Git"]
    assert report("buildbot", body).revision == "ab" * 20


def test_a_buildbot_build_of_several_codebases_reads_the_first_codebases_revision() -> None:
    got = report("buildbot", payload("buildbot", "build.finished.failure.codebases"))
    assert got.revision == "6a1c3e5f7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a"
    assert (got.author_name, got.author_email) == ("Dev Eloper", "dev@example.com")
    assert got.subject == "Checkout: round VAT per line"


def test_a_buildbot_patch_names_the_author_when_no_change_does() -> None:
    body = build()
    body["buildset"]["sourcestamps"][0]["patch"] = {
        "level": 1,
        "subdir": "",
        "author": "Olek <olek@shop.example>",
        "comment": "try: faster VAT",
    }
    got = report("buildbot", body)
    assert (got.author_name, got.author_email, got.subject) == (
        "Olek",
        "olek@shop.example",
        "try: faster VAT",
    )


def test_a_running_buildbot_build_that_has_not_checked_out_yet_is_ignored() -> None:
    body = build("build.new")
    body["buildset"]["sourcestamps"][0]["revision"] = None
    assert "without a revision yet" in ignored("buildbot", body)


def test_a_finished_buildbot_build_without_any_revision_is_refused() -> None:
    body = build()
    body["buildset"]["sourcestamps"][0]["revision"] = None
    del body["properties"]
    assert refused("buildbot", body) == "buildset.sourcestamps[0].revision"


def test_a_buildbot_builder_without_a_name_is_called_by_its_id() -> None:
    assert report("buildbot", build(builder=None)).pipeline == "builder 4"


def test_a_redelivered_buildbot_build_is_the_same_result() -> None:
    assert report("buildbot", build()).identity == report("buildbot", build()).identity


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"results": "2"}, "results"),
        ({"results": 9}, "results"),
        ({"results": None, "complete": True}, "results"),
        ({"complete": "yes"}, "complete"),
        ({"started_at": "2024-03-14"}, "started_at"),
        ({"complete_at": 1e300}, "complete_at"),
        ({"buildid": None, "number": None}, "number"),
        ({"buildset": []}, "buildset"),
    ],
)
def test_a_malformed_buildbot_build_is_refused_naming_the_field(change: dict, field: str) -> None:
    assert refused("buildbot", build(**change)) == field


def test_a_buildbot_sourcestamp_with_a_short_revision_is_refused_naming_it() -> None:
    body = build()
    body["buildset"]["sourcestamps"][0]["revision"] = "3b8e1f0"
    assert refused("buildbot", body) == "buildset.sourcestamps[0].revision"


# Jenkins --------------------------------------------------------------------------------------


def notification(fixture: str = "finalized.unstable", **changes: object) -> dict[str, Any]:
    body = payload("jenkins", fixture)
    body["build"].update(changes)
    return body


def test_an_unstable_jenkins_build_is_a_failed_build_naming_its_failed_tests() -> None:
    got = report("jenkins", notification())
    assert (got.provider, got.status) == ("jenkins", BuildStatus.FAILED)
    assert got.revision == "7d2a9c4e1b3f5a7c9e0d2b4f6a8c0e2d4b6f8a0c"
    assert (got.branch, got.pipeline, got.run_id) == ("main", "storefront", "872")
    assert got.url == "https://jenkins.example.com/job/storefront/872/"
    assert got.duration == timedelta(seconds=431.552)
    assert [test.name for test in got.failed_tests] == [
        "checkout.test_vat.RoundingTest.test_rounds_per_line",
        "checkout.test_vat.RoundingTest.test_zero_rated_lines",
    ]


def test_a_successful_jenkins_build_is_a_passed_build() -> None:
    got = report("jenkins", notification(status="SUCCESS", test_summary=None))
    assert (got.status, got.failed_tests) == (BuildStatus.PASSED, ())


def test_a_jenkins_failure_is_a_failed_build() -> None:
    assert report("jenkins", notification(status="FAILURE")).status is BuildStatus.FAILED


@pytest.mark.parametrize("status", ["NOT_BUILT", "ABORTED"])
def test_jenkins_builds_that_never_finished_testing_the_commit_end_as_canceled(
    status: str,
) -> None:
    assert report("jenkins", notification(status=status)).status is BuildStatus.CANCELED


def test_a_jenkins_build_is_reported_once_at_finalized_not_again_at_completed() -> None:
    assert "FINALIZED" in ignored("jenkins", notification(phase="COMPLETED"))


def test_a_started_jenkins_build_is_running_and_a_queued_one_is_ignored() -> None:
    assert report("jenkins", payload("jenkins", "started")).status is BuildStatus.RUNNING
    assert "queued" in ignored("jenkins", notification("started", phase="QUEUED"))


def test_a_jenkins_build_started_before_checkout_is_ignored() -> None:
    body = notification("started")
    del body["build"]["scm"]["commit"]
    assert "no commit yet" in ignored("jenkins", body)


def test_jenkins_failed_tests_may_be_objects_with_class_and_message() -> None:
    summary = {
        "failed_tests": [
            {"className": "checkout.VatTest", "name": "perLine", "message": "expected 1.2\nat"}
        ]
    }
    got = report("jenkins", notification(test_summary=summary))
    assert got.failed_tests == (FailedTest("checkout.VatTest::perLine", "expected 1.2"),)


@pytest.mark.parametrize(
    ("name", "url", "branch", "pipeline_name"),
    [
        ("main", "job/app/job/main/", "main", "app"),
        ("feature%2Fvat", "job/app/job/feature%252Fvat/", "feature/vat", "app"),
        ("app", "job/team/job/app/", "origin/main", "team/app"),
        ("storefront", "job/elsewhere/", "origin/main", "storefront"),
    ],
)
def test_a_jenkins_job_is_named_by_its_full_name_and_a_branch_job_by_its_project(
    name: str, url: str, branch: str, pipeline_name: str
) -> None:
    body = notification()
    body.update(name=name, url=url)
    body["build"]["scm"]["branch"] = branch
    assert report("jenkins", body).pipeline == pipeline_name


def test_the_first_jenkins_culprit_is_the_author() -> None:
    got = report("jenkins", notification())
    assert (got.author_name, got.author_email) == ("maria", None)
    body = notification()
    body["build"]["scm"]["culprits"] = ["maria@shop.example", "olek"]
    got = report("jenkins", body)
    assert (got.author_name, got.author_email) == ("maria@shop.example", "maria@shop.example")


def test_a_redelivered_jenkins_build_is_the_same_result() -> None:
    assert report("jenkins", notification()).identity == report("jenkins", notification()).identity


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"scm": {"branch": "origin/main"}}, "build.scm.commit"),
        ({"phase": "EXPLODED"}, "build.phase"),
        ({"status": "GREEN"}, "build.status"),
        ({"number": None}, "build.number"),
        ({"number": True}, "build.number"),
        ({"duration": "431552"}, "build.duration"),
        ({"test_summary": {"failed_tests": ["ok", 7]}}, "build.test_summary.failed_tests[1]"),
    ],
)
def test_a_malformed_jenkins_notification_is_refused_naming_the_field(
    change: dict, field: str
) -> None:
    assert refused("jenkins", notification(**change)) == field


def test_a_jenkins_notification_without_its_build_is_refused() -> None:
    assert refused("jenkins", {"name": "storefront"}) == "build"


# Generic --------------------------------------------------------------------------------------

MINIMAL = {"revision": "c4f1e2d3b5a6978877665544332211ffeeddccbb", "branch": "main"}


def generic(**changes: object) -> dict[str, Any]:
    body = payload("generic", "failed")
    body.update(changes)
    return body


def test_a_generic_failed_build_names_its_tests_and_those_of_its_junit_report() -> None:
    got = report("generic", generic())
    assert (got.provider, got.status) == ("generic", BuildStatus.FAILED)
    assert (got.revision, got.branch) == ("c4f1e2d3b5a6978877665544332211ffeeddccbb", "main")
    assert (got.pipeline, got.run_id) == ("tests", "2024-03-14.7")
    assert got.url == "https://ci.example.com/runs/2024-03-14.7"
    assert got.duration == timedelta(seconds=612)
    assert (got.author_name, got.author_email) == ("Maria Kovač", "maria@shop.example")
    assert got.subject == "Checkout: round the VAT per line, not per basket"
    assert got.failed_tests == (  # one test, named by path and by module: counted once
        FailedTest("tests/test_checkout.py::test_vat_per_line", "assert 1.19 == 1.2"),
        FailedTest(
            "tests.test_payments::test_refund",
            "ConnectionRefusedError: [Errno 111] Connection refused",
        ),
    )


def test_a_minimal_generic_payload_is_a_build_of_pipeline_ci() -> None:
    got = report("generic", {**MINIMAL, "status": "passed"})
    assert (got.status, got.pipeline, got.run_id, got.url) == (BuildStatus.PASSED, "ci", "", None)
    assert (got.duration, got.failed_tests, got.subject) == (None, (), None)


def test_a_generic_running_build_is_running_and_its_number_run_id_a_string() -> None:
    got = report("generic", {**MINIMAL, "status": "running", "run_id": 42})
    assert (got.status, got.run_id) == (BuildStatus.RUNNING, "42")


def test_generic_failed_tests_are_kept_to_the_bound() -> None:
    names = [f"tests/test_many.py::test_{n}" for n in range(MAX_FAILED_TESTS_KEPT + 50)]
    got = report("generic", generic(failed_tests=names, junit_xml=None))
    assert len(got.failed_tests) == MAX_FAILED_TESTS_KEPT


def test_a_redelivered_generic_result_is_the_same_result() -> None:
    body = generic()
    assert report("generic", body).identity == report("generic", copy.deepcopy(body)).identity


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"revision": None}, "revision"),
        ({"revision": "c4f1e2d"}, "revision"),
        ({"branch": None}, "branch"),
        ({"branch": ["main"]}, "branch"),
        ({"status": "green"}, "status"),
        ({"status": "cancelled"}, "status"),
        ({"status": None}, "status"),
        ({"pipeline": 7}, "pipeline"),
        ({"pipeline": ""}, "pipeline"),
        ({"pipeline": "p" * 101}, "pipeline"),
        ({"run_id": 4.5}, "run_id"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"duration_s": "612"}, "duration_s"),
        ({"duration_s": True}, "duration_s"),
        ({"duration_s": -1}, "duration_s"),
        ({"duration_s": float("inf")}, "duration_s"),
        ({"duration_s": 1e300}, "duration_s"),
        ({"failed_tests": "tests/test_x.py::test_y"}, "failed_tests"),
        ({"failed_tests": ["ok", 7]}, "failed_tests[1]"),
        ({"junit_xml": "<testsuite>"}, "junit_xml"),
        ({"junit_xml": {"xml": "..."}}, "junit_xml"),
        ({"author_email": "m" * 300}, "author_email"),
        ({"subject": 12}, "subject"),
    ],
)
def test_a_malformed_generic_payload_is_refused_naming_the_field(change: dict, field: str) -> None:
    assert refused("generic", generic(**change)) == field
