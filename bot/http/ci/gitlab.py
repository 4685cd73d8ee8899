"""GitLab's Pipeline Hook, read into a build report; its Merge request Hook, into a review event.

Acted on: ``object_kind == "pipeline"``, and ``merge_request``, whose last commit gets the line's
``andon/line`` status (``opened`` and ``locked`` requests are open; ``closed`` and ``merged`` ones
are not); every other hook (push, job, note …) is ignored. Status ``success`` is passed, ``failed``
is failed, ``running`` is running. A pipeline that is only queued — ``created``,
``waiting_for_resource``, ``preparing``, ``pending``, ``scheduled`` — is ignored: it is reported
running once a job runs. ``canceled`` and ``skipped`` end as canceled (neither green nor red);
``canceling`` is ignored until it has. ``manual`` — a pipeline blocked by a manual job it waits
for — is passed when no job failed (else failed): everything that ran passed. The failed tests of a
failed pipeline are its failed jobs, ``job:<name>`` with the stage as message; a job allowed to
fail does not fail the pipeline and is left out. A tag's pipeline has no branch.

A pipeline is named after its project and kind — ``shop/app`` for the branch's own pipelines,
``shop/app · merge request``, ``shop/app · schedule``, ``shop/app · child`` — never after
``workflow:name``, which may change with every commit; that name is shown as the run's label. A
merge request's pipeline (``source: merge_request_event``, or a ``merge_request`` in the body) runs
the request's source branch — a fork's ``main`` as well — so it is filed under the request's ref
(``refs/merge-requests/<iid>/head``), never under the line's branch: it cannot stop the line, and
its author hears of a red one. The run id is the pipeline's id, so a retried job that fails again
in the same pipeline is the same red result, announced once.
"""

from collections.abc import Mapping

from bot.http.ci import normal
from bot.http.fields import BUILD_RESULTS, MAX_TEXT, Fields
from core.ci.report import BadReportError, BuildReport, BuildStatus, FailedTest, Ignored
from core.review import ReviewEvent

PROVIDER = "gitlab"
STATUSES = {
    "success": BuildStatus.PASSED,
    "failed": BuildStatus.FAILED,
    "running": BuildStatus.RUNNING,
}
QUEUED = {"created", "waiting_for_resource", "preparing", "pending", "scheduled"}
CANCELED = {"canceled", "skipped"}
MERGE_REQUEST_SOURCE = "merge_request_event"
KINDS = {MERGE_REQUEST_SOURCE: "merge request", "schedule": "schedule", "parent_pipeline": "child"}
OPEN_STATES = {"opened", "locked"}


def read(headers: Mapping[str, str], payload: object) -> BuildReport | ReviewEvent | Ignored:
    """A GitLab delivery as a build result, or why it is none; the hook kind is in the body."""
    body = Fields(payload, rules=BUILD_RESULTS)
    kind = body.optional_text("object_kind")
    if kind == "merge_request":
        return _merge_request(body)
    if kind != "pipeline":
        return Ignored(f"GitLab {(kind or 'unnamed')[:40]!r} hook is not a pipeline result")
    attributes = body.required_child("object_attributes")
    failed_jobs = _failed_jobs(body) if attributes.raw("status") in ("failed", "manual") else ()
    status = _status(attributes, failed_jobs=bool(failed_jobs))
    if isinstance(status, Ignored):
        return status
    commit = body.child("commit")
    author = commit.child("author") if commit else None
    request = body.child("merge_request")
    source = attributes.optional_text("source")
    on_review = request is not None or source == MERGE_REQUEST_SOURCE
    return BuildReport(
        provider=PROVIDER,
        revision=normal.revision(attributes, "sha"),
        branch=_review_ref(request) if on_review else _branch(attributes),
        status=status,
        pipeline=_identity(
            body, kind=KINDS[MERGE_REQUEST_SOURCE] if on_review else KINDS.get(source)
        ),
        run_id=attributes.identifier("id"),
        url=_url(body, attributes),
        duration=attributes.duration("duration"),
        failed_tests=failed_jobs if status is BuildStatus.FAILED else (),
        author_name=author.optional_text("name", longest=MAX_TEXT) if author else None,
        author_email=author.optional_text("email", longest=MAX_TEXT) if author else None,
        subject=_subject(commit),
        finished_at=attributes.timestamp("finished_at"),
        label=_label(attributes),
    )


def _branch(attributes: Fields) -> str | None:
    if attributes.raw("tag") is True:
        return None
    return normal.branch(attributes.optional_text("ref", longest=MAX_TEXT))


def _review_ref(request: Fields | None) -> str | None:
    """The ref GitLab keeps for a merge request's head: never a branch, so never the line's."""
    if request is None or request.optional_identifier("iid") is None:
        return None
    return f"refs/merge-requests/{request.identifier('iid')}/head"


def _identity(body: Fields, *, kind: str | None) -> str:
    """The project and the pipeline's kind: the same for every commit, so "fixed", "new" and
    ``[ci] required`` compare like with like."""
    project = body.child("project")
    name = None
    if project is not None:
        name = project.optional_text("path_with_namespace") or project.optional_text("name")
    name = name or "gitlab-ci"
    return normal.pipeline(f"{name} · {kind}" if kind else name)


def _label(attributes: Fields) -> str | None:
    name = attributes.optional_text("name")
    return name.strip()[:MAX_TEXT] if name else None


def _merge_request(body: Fields) -> ReviewEvent:
    attributes = body.required_child("object_attributes")
    number = attributes.raw("iid")
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise BadReportError(attributes.where("iid"), "must be a positive whole number")
    return ReviewEvent(
        forge=PROVIDER,
        project=body.required_child("project").identifier("id"),
        number=number,
        head_sha=normal.revision(attributes.required_child("last_commit"), "id"),
        open=attributes.text("state") in OPEN_STATES,
    )


def _status(attributes: Fields, *, failed_jobs: bool) -> BuildStatus | Ignored:
    status = attributes.text("status")
    if status in STATUSES:
        return STATUSES[status]
    if status == "manual":  # waiting on a person: what ran has passed, unless a job failed
        return BuildStatus.FAILED if failed_jobs else BuildStatus.PASSED
    if status in CANCELED:
        return BuildStatus.CANCELED
    if status in QUEUED:
        return Ignored(f"pipeline {status}: queued, nothing runs yet")
    if status == "canceling":
        return Ignored("pipeline canceling: reported once it is canceled")
    raise BadReportError(attributes.where("status"), f"unknown status {status[:40]!r}")


def _failed_jobs(body: Fields) -> tuple[FailedTest, ...]:
    failed = []
    for index, item in enumerate(body.items("builds")):
        job = Fields(item, f"builds[{index}]", rules=BUILD_RESULTS)
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
