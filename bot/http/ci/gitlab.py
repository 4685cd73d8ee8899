"""GitLab's Pipeline Hook, read into a build report; its Merge request Hook, into a review event.

Acted on: ``object_kind == "pipeline"``, and ``merge_request``, whose last commit gets the line's
``andon/line`` status (``opened`` and ``locked`` requests are open; ``closed`` and ``merged`` ones
are not); every other hook (push, job, note …) is ignored. Status ``success`` is passed, ``failed``
is failed, ``running`` is running. A pipeline that is only queued — ``created``,
``waiting_for_resource``, ``preparing``, ``pending``, ``scheduled`` — is ignored: it is reported
running once a job runs. ``canceled``, ``canceling``, ``skipped`` and ``manual`` (waiting for a
person) are ignored. The failed tests of a failed pipeline are its failed jobs, ``job:<name>`` with
the stage as message; a job allowed to fail does not fail the pipeline and is left out. A tag's
pipeline has no branch. The run id is the pipeline's id, so a retried job that fails again in the
same pipeline is the same red result, announced once.
"""

from collections.abc import Mapping

from bot.http.ci import normal
from bot.http.ci.fields import MAX_TEXT, Fields
from core.ci.report import BadReportError, BuildReport, BuildStatus, FailedTest, Ignored
from core.review import ReviewEvent

PROVIDER = "gitlab"
STATUSES = {
    "success": BuildStatus.PASSED,
    "failed": BuildStatus.FAILED,
    "running": BuildStatus.RUNNING,
}
QUEUED = {"created", "waiting_for_resource", "preparing", "pending", "scheduled"}
NOT_RESULTS = {"canceled", "canceling", "skipped", "manual"}
OPEN_STATES = {"opened", "locked"}


def read(headers: Mapping[str, str], payload: object) -> BuildReport | ReviewEvent | Ignored:
    """A GitLab delivery as a build result, or why it is none; the hook kind is in the body."""
    body = Fields(payload)
    kind = body.optional_text("object_kind")
    if kind == "merge_request":
        return _merge_request(body)
    if kind != "pipeline":
        return Ignored(f"GitLab {(kind or 'unnamed')[:40]!r} hook is not a pipeline result")
    attributes = body.required_child("object_attributes")
    status = _status(attributes)
    if isinstance(status, Ignored):
        return status
    commit = body.child("commit")
    author = commit.child("author") if commit else None
    tag = attributes.raw("tag") is True
    return BuildReport(
        provider=PROVIDER,
        revision=attributes.revision("sha"),
        branch=None if tag else normal.branch(attributes.optional_text("ref", longest=MAX_TEXT)),
        status=status,
        pipeline=normal.pipeline(attributes.optional_text("name") or "gitlab-ci"),
        run_id=attributes.identifier("id"),
        url=_url(body, attributes),
        duration=attributes.duration("duration"),
        failed_tests=_failed_jobs(body) if status is BuildStatus.FAILED else (),
        author_name=author.optional_text("name", longest=MAX_TEXT) if author else None,
        author_email=author.optional_text("email", longest=MAX_TEXT) if author else None,
        subject=_subject(commit),
        finished_at=attributes.timestamp("finished_at"),
    )


def _merge_request(body: Fields) -> ReviewEvent:
    attributes = body.required_child("object_attributes")
    number = attributes.raw("iid")
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise BadReportError(attributes.where("iid"), "must be a positive whole number")
    return ReviewEvent(
        forge=PROVIDER,
        project=body.required_child("project").identifier("id"),
        number=number,
        head_sha=attributes.required_child("last_commit").revision("id"),
        open=attributes.text("state") in OPEN_STATES,
    )


def _status(attributes: Fields) -> BuildStatus | Ignored:
    status = attributes.text("status")
    if status in STATUSES:
        return STATUSES[status]
    if status in QUEUED:
        return Ignored(f"pipeline {status}: queued, nothing runs yet")
    if status in NOT_RESULTS:
        return Ignored(f"pipeline {status}: says nothing about the commit")
    raise BadReportError(attributes.where("status"), f"unknown status {status[:40]!r}")


def _failed_jobs(body: Fields) -> tuple[FailedTest, ...]:
    failed = []
    for index, item in enumerate(body.items("builds")):
        job = Fields(item, f"builds[{index}]")
        if job.optional_text("status") == "failed" and job.raw("allow_failure") is not True:
            failed.append(FailedTest(f"job:{job.text('name')}", job.optional_text("stage") or ""))
    return normal.kept(failed)


def _url(body: Fields, attributes: Fields) -> str | None:
    """The pipeline's page; older GitLab hooks carry none, so it is made from the project's."""
    url = attributes.optional_text("url")
    project = body.child("project")
    home = project.optional_text("web_url") if project else None
    if url is None and home is not None:
        url = f"{home.rstrip('/')}/-/pipelines/{attributes.identifier('id')}"
    return url


def _subject(commit: Fields | None) -> str | None:
    if commit is None:
        return None
    return normal.subject(commit.optional_text("title") or commit.optional_text("message"))
