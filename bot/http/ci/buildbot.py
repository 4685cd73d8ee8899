"""Buildbot's HttpStatusPush build record, read into a build report.

``results`` 0 (success) and 1 (warnings) are passed; 2 (failure) and 4 (exception) are failed;
3 (skipped), 5 (retry: the build runs again) and 6 (cancelled) are ignored; null while
``complete`` is false is running. The revision is the first sourcestamp's, else the
``got_revision`` property; a running build that has not checked out yet is ignored.

Configure the sender to report every result: Buildbot's ``BuildStatusGenerator`` sends only
``("failing", "passing", "warnings")`` by default, so without ``mode="all"`` an exception build —
a failure to Andon — is never sent (and without ``report_new=True`` no build is seen running).
"""

from collections.abc import Mapping

from bot.http.ci import normal
from bot.http.ci.fields import MAX_TEXT, Fields, full_sha
from core.ci.report import BadReportError, BuildReport, BuildStatus, Ignored

PROVIDER = "buildbot"
RESULTS = {
    0: BuildStatus.PASSED,
    1: BuildStatus.PASSED,
    2: BuildStatus.FAILED,
    4: BuildStatus.FAILED,
}
NOT_RESULTS = {3: "skipped", 5: "to be retried", 6: "cancelled"}


def read(headers: Mapping[str, str], payload: object) -> BuildReport | Ignored:
    """A Buildbot build record as a build result, or why it is none."""
    build = Fields(payload)
    status = _status(build)
    if isinstance(status, Ignored):
        return status
    stamp = _first_sourcestamp(build)
    revision = _revision(build, stamp)
    if revision is None:
        if status is BuildStatus.RUNNING:
            return Ignored("running build without a revision yet")
        raise BadReportError(
            "buildset.sourcestamps[0].revision", "is missing, and so is got_revision"
        )
    started, finished = build.epoch("started_at"), build.epoch("complete_at")
    return BuildReport(
        provider=PROVIDER,
        revision=revision,
        branch=normal.branch(stamp.optional_text("branch", longest=MAX_TEXT)) if stamp else None,
        status=status,
        pipeline=_builder(build),
        run_id=build.optional_identifier("buildid") or build.identifier("number"),
        url=build.optional_text("url"),
        duration=normal.elapsed(started, finished),
        finished_at=finished,
    )


def _status(build: Fields) -> BuildStatus | Ignored:
    results = build.raw("results")
    complete = build.raw("complete")
    if complete is not None and not isinstance(complete, bool):
        raise BadReportError("complete", "must be true or false")
    if results is None:
        if complete:
            raise BadReportError("results", "is null on a complete build")
        return BuildStatus.RUNNING
    if isinstance(results, bool) or not isinstance(results, int):
        raise BadReportError("results", "must be a Buildbot result code (0 to 6)")
    if results in RESULTS:
        return RESULTS[results]
    if results in NOT_RESULTS:
        return Ignored(f"build {NOT_RESULTS[results]}: says nothing about the commit")
    raise BadReportError("results", f"unknown result code {results}")


def _first_sourcestamp(build: Fields) -> Fields | None:
    buildset = build.child("buildset")
    stamps = buildset.items("sourcestamps") if buildset else []
    return Fields(stamps[0], "buildset.sourcestamps[0]") if stamps else None


def _revision(build: Fields, stamp: Fields | None) -> str | None:
    if stamp is not None and stamp.optional_text("revision"):
        return stamp.revision("revision")
    properties = build.child("properties")
    got = properties.raw("got_revision") if properties else None
    if isinstance(got, list) and got:  # Buildbot sends a property as [value, source]
        got = got[0]
    return None if got is None else full_sha(got, "properties.got_revision")


def _builder(build: Fields) -> str:
    builder = build.child("builder")
    name = builder.optional_text("name") if builder else None
    return normal.pipeline(name or f"builder {build.identifier('builderid')}")
