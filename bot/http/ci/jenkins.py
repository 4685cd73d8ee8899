"""Jenkins' Notification plugin, read into a build report.

Phase ``STARTED`` is running — ignored while no commit is known (a job checks out after it
starts). ``QUEUED`` is ignored: nothing runs yet. The result is read at ``FINALIZED`` only, once
post-build steps such as publishing test results are done; ``COMPLETED`` carries the same result
and is ignored, so one build is reported once. The endpoint must therefore send the ``all`` or
``finalized`` events (the plugin's ``failed`` event is sent at FINALIZED too). Status ``SUCCESS``
is passed; ``UNSTABLE`` (tests failed) and ``FAILURE`` are failed; ``NOT_BUILT`` and ``ABORTED``
are ignored. The git plugin's ``origin/main`` is branch ``main``.
"""

from collections.abc import Mapping
from datetime import timedelta

from bot.http.ci import normal
from bot.http.ci.fields import MAX_TEXT, Fields
from core.ci.report import BadReportError, BuildReport, BuildStatus, FailedTest, Ignored

PROVIDER = "jenkins"
MILLISECOND = timedelta(milliseconds=1)
RESULTS = {
    "SUCCESS": BuildStatus.PASSED,
    "UNSTABLE": BuildStatus.FAILED,
    "FAILURE": BuildStatus.FAILED,
}
NOT_RESULTS = {"NOT_BUILT", "ABORTED"}


def read(headers: Mapping[str, str], payload: object) -> BuildReport | Ignored:
    """A Jenkins notification as a build result, or why it is none."""
    job = Fields(payload)
    build = job.required_child("build")
    status = _status(build)
    if isinstance(status, Ignored):
        return status
    scm = build.child("scm")
    if scm is None or scm.optional_text("commit") is None:
        if status is BuildStatus.RUNNING:
            return Ignored("started before checkout: no commit yet")
        raise BadReportError("build.scm.commit", "is missing")
    branch = scm.optional_text("branch", longest=MAX_TEXT)
    return BuildReport(
        provider=PROVIDER,
        revision=scm.revision("commit"),
        branch=normal.branch(branch.removeprefix("origin/")) if branch else None,
        status=status,
        pipeline=normal.pipeline(job.text("name")),
        run_id=build.identifier("number"),
        url=build.optional_text("full_url") or build.optional_text("url"),
        duration=build.duration("duration", unit=MILLISECOND) or None,  # 0 while running
        failed_tests=_failed_tests(build) if status is BuildStatus.FAILED else (),
    )


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
    if status in NOT_RESULTS:
        return Ignored(f"build {status}: says nothing about the commit")
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
    test = Fields(item, where)
    name = test.text("name").strip()
    classname = test.optional_text("className") or test.optional_text("classname")
    message = test.optional_text("message") or test.optional_text("errorDetails") or ""
    key = f"{classname.strip()}::{name}" if classname else name
    return FailedTest(key, normal.subject(message) or "")
