"""GitHub's webhooks, read into a build report: a finished workflow run or check suite.

Acted on: ``workflow_run`` with action ``in_progress`` (the run is running) or ``completed``, and
``check_suite`` with action ``completed`` (``requested`` is queued: nothing runs yet). Conclusion
``success`` is passed; ``failure``, ``timed_out`` and ``startup_failure`` are failed;
``cancelled`` and ``skipped`` end the run as canceled, neither green nor red; ``neutral``,
``action_required`` and ``stale`` say nothing about the commit and are ignored.
A check suite of GitHub Actions itself is ignored: its workflow runs already report, and one red
build is announced once. A ``pull_request`` that opened, reopened, moved to a new head
(``synchronize``), left draft or closed is read as a review event: its head gets the line's
``andon/line`` status; its other actions (labels, edits …) are ignored. Every other event —
``ping``, ``push``, ``status``, ``workflow_job`` … — is answered and ignored.
"""

from collections.abc import Mapping
from datetime import datetime

from bot.http.ci import normal
from bot.http.fields import BUILD_RESULTS, MAX_TEXT, Fields
from core.ci.report import BadReportError, BuildReport, BuildStatus, Ignored
from core.review import ReviewEvent

PROVIDER = "github"
ACTIONS_SLUG = "github-actions"
ACTIONS_NAME = "GitHub Actions"
CONCLUSIONS = {
    "success": BuildStatus.PASSED,
    "failure": BuildStatus.FAILED,
    "timed_out": BuildStatus.FAILED,
    "startup_failure": BuildStatus.FAILED,
    "cancelled": BuildStatus.CANCELED,
    "skipped": BuildStatus.CANCELED,
}
NOT_RESULTS = {"neutral", "action_required", "stale"}
REVIEW_ACTIONS = {"opened", "reopened", "synchronize", "closed", "ready_for_review"}


def read(headers: Mapping[str, str], payload: object) -> BuildReport | ReviewEvent | Ignored:
    """A GitHub delivery as a build result, or why it is none; the event is in a header."""
    event = {name.lower(): value for name, value in headers.items()}.get("x-github-event", "")
    if not event.strip():
        raise BadReportError("X-GitHub-Event", "the header is missing")
    if event == "workflow_run":
        return _workflow_run(Fields(payload, rules=BUILD_RESULTS))
    if event == "check_suite":
        return _check_suite(Fields(payload, rules=BUILD_RESULTS))
    if event == "pull_request":
        return _pull_request(Fields(payload, rules=BUILD_RESULTS))
    return Ignored(f"GitHub event {event[:40]!r} is not a build result")


def _workflow_run(body: Fields) -> BuildReport | Ignored:
    action = body.optional_text("action")
    if action not in ("in_progress", "completed"):
        return Ignored(
            f"workflow_run {(action or 'without action')[:40]}: queued, nothing runs yet"
        )
    run = body.required_child("workflow_run")
    status = _status(run) if action == "completed" else BuildStatus.RUNNING
    if isinstance(status, Ignored):
        return status
    finished = run.timestamp("updated_at") if action == "completed" else None
    attempt = run.optional_identifier("run_attempt") or "1"
    return _report(
        run,
        status=status,
        pipeline=_workflow_name(body, run),
        run_id=f"{run.identifier('id')}.{attempt}",
        url=run.optional_text("html_url"),
        started=run.timestamp("run_started_at"),
        finished=finished,
        fallback_subject=run.optional_text("display_title"),
    )


def _check_suite(body: Fields) -> BuildReport | Ignored:
    action = body.optional_text("action")
    if action != "completed":
        return Ignored(f"check_suite {(action or 'without action')[:40]}: not finished yet")
    suite = body.required_child("check_suite")
    app = suite.child("app")
    slug = app.optional_text("slug") if app else None
    name = app.optional_text("name") if app else None
    if slug == ACTIONS_SLUG or name == ACTIONS_NAME:
        return Ignored("a check suite of GitHub Actions: its workflow_run reports it")
    status = _status(suite)
    if isinstance(status, Ignored):
        return status
    return _report(
        suite,
        status=status,
        pipeline=normal.pipeline(slug or name or "github-checks"),
        run_id=suite.identifier("id"),
        url=_checks_page(body, suite),
        started=suite.timestamp("created_at"),
        finished=suite.timestamp("updated_at"),
        fallback_subject=None,
    )


def _pull_request(body: Fields) -> ReviewEvent | Ignored:
    action = body.optional_text("action")
    if action not in REVIEW_ACTIONS:
        return Ignored(f"pull_request {(action or 'without action')[:40]}: the head did not move")
    pull = body.required_child("pull_request")
    number = pull.raw("number")
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise BadReportError(pull.where("number"), "must be a positive whole number")
    return ReviewEvent(
        forge=PROVIDER,
        project=body.required_child("repository").text("full_name", longest=MAX_TEXT),
        number=number,
        head_sha=normal.revision(pull.required_child("head"), "sha"),
        open=action != "closed" and pull.optional_text("state") != "closed",
    )


def _report(
    run: Fields,
    *,
    status: BuildStatus,
    pipeline: str,
    run_id: str,
    url: str | None,
    started: datetime | None,
    finished: datetime | None,
    fallback_subject: str | None,
) -> BuildReport:
    commit = run.child("head_commit")
    author = commit.child("author") if commit else None
    message = commit.optional_text("message") if commit else None
    return BuildReport(
        provider=PROVIDER,
        revision=normal.revision(run, "head_sha"),
        branch=normal.branch(run.optional_text("head_branch", longest=MAX_TEXT)),
        status=status,
        pipeline=pipeline,
        run_id=run_id,
        url=url,
        duration=normal.elapsed(started, finished),
        author_name=author.optional_text("name", longest=MAX_TEXT) if author else None,
        author_email=author.optional_text("email", longest=MAX_TEXT) if author else None,
        subject=normal.subject(message) or normal.subject(fallback_subject),
        finished_at=finished,
    )


def _status(run: Fields) -> BuildStatus | Ignored:
    conclusion = run.text("conclusion")
    if conclusion in CONCLUSIONS:
        return CONCLUSIONS[conclusion]
    if conclusion in NOT_RESULTS:
        return Ignored(f"concluded {conclusion}: says nothing about the commit")
    raise BadReportError(run.where("conclusion"), f"unknown conclusion {conclusion[:40]!r}")


def _workflow_name(body: Fields, run: Fields) -> str:
    workflow = body.child("workflow")
    candidates = [
        run.optional_text("name"),
        workflow.optional_text("name") if workflow else None,
        run.optional_text("path"),
        workflow.optional_text("path") if workflow else None,
    ]
    return normal.pipeline(next((name for name in candidates if name), "github-actions"))


def _checks_page(body: Fields, suite: Fields) -> str | None:
    """GitHub's page of the commit's checks: a check suite carries no page of its own."""
    repository = body.child("repository")
    home = repository.optional_text("html_url") if repository else None
    if home is None:
        return None
    return f"{home.rstrip('/')}/commit/{normal.revision(suite, 'head_sha')}/checks"
