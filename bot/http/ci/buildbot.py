"""Buildbot's HttpStatusPush build record, read into a build report.

``results`` 0 (success) and 1 (warnings) are passed; 2 (failure) is failed; 4 (exception) is
failed for the CI's own reasons — a lost worker, a broken step — so it stops the line only where
``[ci] infra_failures_stop_line`` says so; 3 (skipped) and 6 (cancelled) end as canceled (neither
green nor red); 5 (retry: the build runs again) is ignored; null while ``complete`` is false is
running. The revision is the first sourcestamp's, else the ``got_revision`` property — a string,
or for a build of several codebases an object of codebase → revision, read for the first
sourcestamp's codebase (else the first codebase listed); a running build that has not checked out
yet is ignored.

Buildbot's build record names no author: when the formatter adds the build's ``changes``
(Buildbot's change records: ``author`` as ``Name <email>``, ``comments``, ``revision``), the change
of the built revision (else the newest) gives the author and subject; else a sourcestamp's
``patch`` (``author``, ``comment``) does.

HttpStatusPush sends the build as JSON only with a JSON formatter: ``NOT_JSON`` says which.
Configure it to report every result: Buildbot's ``BuildStatusGenerator`` sends only
``("failing", "passing", "warnings")`` by default, so without ``mode="all"`` an exception or a
cancelled build is never sent (and without ``report_new=True`` no build is seen running).
"""

import re
from collections.abc import Mapping

from bot.http.ci import normal
from bot.http.fields import BUILD_RESULTS, MAX_TEXT, Fields
from core.ci.report import BadReportError, BuildReport, BuildStatus, Ignored

PROVIDER = "buildbot"
RESULTS = {
    0: BuildStatus.PASSED,
    1: BuildStatus.PASSED,
    2: BuildStatus.FAILED,
    3: BuildStatus.CANCELED,
    4: BuildStatus.FAILED,
    6: BuildStatus.CANCELED,
}
EXCEPTION = 4
RETRY = 5
NOT_JSON = (
    "Buildbot's HttpStatusPush sends the build as JSON only with a JSON formatter: give its "
    "generator message_formatter=reporters.MessageFormatterFunction("
    'lambda context: context["build"], "json") (see docs/ci.md)'
)
_NAMED = re.compile(r"^\s*(?P<name>[^<]*?)\s*<(?P<email>[^<>\s]+@[^<>\s]+)>\s*$")


def read(headers: Mapping[str, str], payload: object) -> BuildReport | Ignored:
    """A Buildbot build record as a build result, or why it is none."""
    build = Fields(payload, rules=BUILD_RESULTS)
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
    author, subject = _author_and_subject(build, stamp, revision)
    name, email = _person(author)
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
        author_name=name,
        author_email=email,
        subject=normal.subject(subject),
        infrastructure=build.raw("results") == EXCEPTION,
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
    if results == RETRY:
        return Ignored("build to be retried: the retry reports")
    raise BadReportError("results", f"unknown result code {results}")


def _first_sourcestamp(build: Fields) -> Fields | None:
    buildset = build.child("buildset")
    stamps = buildset.items("sourcestamps") if buildset else []
    return Fields(stamps[0], "buildset.sourcestamps[0]", rules=BUILD_RESULTS) if stamps else None


def _revision(build: Fields, stamp: Fields | None) -> str | None:
    if stamp is not None and stamp.optional_text("revision"):
        return normal.revision(stamp, "revision")
    properties = build.child("properties")
    got = properties.raw("got_revision") if properties else None
    if isinstance(got, list) and got:  # Buildbot sends a property as [value, source]
        got = got[0]
    if isinstance(got, dict):  # several codebases: codebase → revision
        return _codebase_revision(got, stamp)
    return None if got is None else normal.full_sha(got, "properties.got_revision")


def _codebase_revision(got: dict, stamp: Fields | None) -> str | None:
    codebase = stamp.raw("codebase") if stamp else None
    chosen = codebase if isinstance(codebase, str) and codebase in got else next(iter(got), None)
    if chosen is None:
        return None
    return normal.full_sha(got[chosen], f"properties.got_revision.{chosen}")


def _author_and_subject(
    build: Fields, stamp: Fields | None, revision: str
) -> tuple[str | None, str | None]:
    changes = [
        Fields(item, f"changes[{n}]", rules=BUILD_RESULTS)
        for n, item in enumerate(build.items("changes"))
    ]
    if changes:
        built = [c for c in changes if (c.optional_text("revision") or "").lower() == revision]
        change = (built or changes)[-1]
        return change.optional_text("author"), change.optional_text("comments")
    patch = stamp.child("patch") if stamp else None
    if patch is not None:
        return patch.optional_text("author"), patch.optional_text("comment")
    return None, None


def _person(author: str | None) -> tuple[str | None, str | None]:
    """``Maria Kovač <maria@shop.example>`` as git and Buildbot write an author."""
    if author is None:
        return None, None
    named = _NAMED.match(author)
    if named is None:
        email = author.strip() if "@" in author and " " not in author.strip() else None
        return author.strip()[:MAX_TEXT], email[:MAX_TEXT] if email else None
    name, email = named["name"] or named["email"], named["email"]
    return name[:MAX_TEXT], email[:MAX_TEXT]


def _builder(build: Fields) -> str:
    builder = build.child("builder")
    name = builder.optional_text("name") if builder else None
    return normal.pipeline(name or f"builder {build.identifier('builderid')}")
