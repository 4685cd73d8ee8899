"""Jenkins' Notification plugin, read into a build report.

Phase ``STARTED`` is running — ignored while no commit is known (a job checks out after it
starts). ``QUEUED`` is ignored: nothing runs yet. The result is read at ``FINALIZED`` only, once
post-build steps such as publishing test results are done; ``COMPLETED`` carries the same result
and is ignored, so one build is reported once. The endpoint must therefore send the ``all`` event
(or ``finalized``): the plugin's ``failed`` event reports red builds only, so no build would ever
turn a revision green. Status ``SUCCESS`` is passed; ``UNSTABLE`` (tests failed) and ``FAILURE``
are failed; ``ABORTED`` and ``NOT_BUILT`` end as canceled (neither green nor red). The git
plugin's ``origin/main`` is branch ``main``. The first of ``build.scm.culprits`` (Jenkins user ids,
sent for freestyle jobs) is the author, and their e-mail when the id is one.

A job is named by its full name, read from its ``url`` (``job/team/job/app/`` is ``team/app``).
A multibranch project's branch job is named after the branch (the plugin's ``name`` is ``main``
for ``app/main``): such a job is named after its project, ``app``, so every branch's builds are one
pipeline, as they are one job.
"""

from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import unquote

from bot.http.ci import normal
from bot.http.fields import BUILD_RESULTS, MAX_TEXT, Fields
from core.ci.report import BadReportError, BuildReport, BuildStatus, FailedTest, Ignored

PROVIDER = "jenkins"
MILLISECOND = timedelta(milliseconds=1)
RESULTS = {
    "SUCCESS": BuildStatus.PASSED,
    "UNSTABLE": BuildStatus.FAILED,
    "FAILURE": BuildStatus.FAILED,
}
CANCELED = {"NOT_BUILT", "ABORTED"}


def read(headers: Mapping[str, str], payload: object) -> BuildReport | Ignored:
    """A Jenkins notification as a build result, or why it is none."""
    job = Fields(payload, rules=BUILD_RESULTS)
    build = job.required_child("build")
    status = _status(build)
    if isinstance(status, Ignored):
        return status
    scm = build.child("scm")
    if scm is None or scm.optional_text("commit") is None:
        if status is BuildStatus.RUNNING:
            return Ignored("started before checkout: no commit yet")
        raise BadReportError("build.scm.commit", "is missing")
    raw_branch = scm.optional_text("branch", longest=MAX_TEXT)
    branch = normal.branch(raw_branch.removeprefix("origin/")) if raw_branch else None
    culprit = _first_culprit(scm)
    return BuildReport(
        provider=PROVIDER,
        revision=normal.revision(scm, "commit"),
        branch=branch,
        status=status,
        pipeline=normal.pipeline(_job_name(job, branch)),
        run_id=build.identifier("number"),
        url=build.optional_text("full_url") or build.optional_text("url"),
        duration=build.duration("duration", unit=MILLISECOND) or None,  # 0 while running
        failed_tests=_failed_tests(build) if status is BuildStatus.FAILED else (),
        author_name=culprit,
        author_email=culprit if culprit and "@" in culprit else None,
    )


def _job_name(job: Fields, branch: str | None) -> str:
    """The job's full name; a multibranch project's, for one of its branch jobs."""
    name = job.text("name", longest=MAX_TEXT).strip()
    url = job.optional_text("url") or ""
    parts = [unquote(part) for part in url.strip("/").split("/")]
    path = parts[1::2]
    if len(parts) % 2 or any(part != "job" for part in parts[::2]) or path[-1] != name:
        return name  # not this job's path: the name as sent
    if len(path) > 1 and branch is not None and unquote(path[-1]) == branch:
        path = path[:-1]  # a branch job of a multibranch project
    return "/".join(path)


def _first_culprit(scm: Fields) -> str | None:
    for index, item in enumerate(scm.items("culprits")):
        if not isinstance(item, str):
            raise BadReportError(f"build.scm.culprits[{index}]", "must be a user id (a string)")
        if item.strip():
            return item.strip()[:MAX_TEXT]
    return None


def _status(build: Fields) -> BuildStatus | Ignored:
    phase = build.text("phase")
    if phase == "QUEUED":
        return Ignored("build queued: nothing runs yet")
    if phase == "STARTED":
        return BuildStatus.RUNNING
    if phase == "COMPLETED":
        return Ignored("COMPLETED: the result is read at FINALIZED, once")
    if phase != "FINALIZED":
        raise BadReportError("build.phase", f"unknown phase {phase[:40]!r}")
    status = build.text("status")
    if status in RESULTS:
        return RESULTS[status]
    if status in CANCELED:
        return BuildStatus.CANCELED
    raise BadReportError("build.status", f"unknown status {status[:40]!r}")


def _failed_tests(build: Fields) -> tuple[FailedTest, ...]:
    summary = build.child("test_summary")
    if summary is None:
        return ()
    failed = []
    for index, item in enumerate(summary.items("failed_tests")):
        where = f"build.test_summary.failed_tests[{index}]"
        failed.append(_failed_test(item, where))
    return normal.kept(failed)


def _failed_test(item: object, where: str) -> FailedTest:
    """The plugin sends names; a customised sender may send ``{name, className, message}``."""
    if isinstance(item, str):
        if not item.strip():
            raise BadReportError(where, "is blank")
        return FailedTest(item.strip())
    test = Fields(item, where, rules=BUILD_RESULTS)
    name = test.text("name").strip()
    classname = test.optional_text("className") or test.optional_text("classname")
    message = test.optional_text("message") or test.optional_text("errorDetails") or ""
    key = f"{classname.strip()}::{name}" if classname else name
    return FailedTest(key, normal.subject(message) or "")
