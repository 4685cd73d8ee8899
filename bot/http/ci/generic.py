"""Andon's own CI payload, for any CI that can POST JSON (docs/ci.md, "the generic format").

Required: ``revision`` (40-hex), ``branch``, ``status`` (``passed`` | ``failed`` | ``running`` |
``canceled``).
Optional: ``pipeline`` (default ``ci``), ``run_id`` (string or number), ``url`` (http or https),
``duration_s``, ``failed_tests`` (strings), ``junit_xml`` (its failing tests join
``failed_tests``), ``author_name``, ``author_email``, ``subject``. Types are checked strictly and
a wrong field is named; fields Andon does not know are left alone. Nothing is ignored: a sender
that chose this format sends only what it means.
"""

from collections.abc import Mapping

from bot.http.ci import normal
from bot.http.fields import BUILD_RESULTS, MAX_TEXT, Fields
from core.ci.junit import failing_tests
from core.ci.report import BadReportError, BuildReport, BuildStatus, FailedTest, Ignored

PROVIDER = "generic"


def read(headers: Mapping[str, str], payload: object) -> BuildReport | Ignored:
    """A generic payload as a build result; every field is checked before anything is kept."""
    body = Fields(payload, rules=BUILD_RESULTS)
    return BuildReport(
        provider=PROVIDER,
        revision=normal.revision(body, "revision"),
        branch=normal.branch(body.text("branch", longest=MAX_TEXT)),
        status=_status(body),
        pipeline="ci" if body.raw("pipeline") is None else body.text("pipeline"),
        run_id=body.optional_identifier("run_id") or "",
        url=_url(body),
        duration=body.duration("duration_s"),
        failed_tests=normal.kept([*_named_tests(body), *_junit_tests(body)]),
        author_name=body.optional_text("author_name", longest=MAX_TEXT),
        author_email=body.optional_text("author_email", longest=MAX_TEXT),
        subject=normal.subject(body.optional_text("subject")),
    )


def _status(body: Fields) -> BuildStatus:
    status = body.text("status")
    try:
        return BuildStatus(status)
    except ValueError:
        raise BadReportError("status", "must be passed, failed, running or canceled") from None


def _url(body: Fields) -> str | None:
    url = body.optional_text("url")
    if url is not None and not url.startswith(("https://", "http://")):
        raise BadReportError("url", "must be an http or https URL")
    return url


def _named_tests(body: Fields) -> list[FailedTest]:
    named = []
    for index, name in enumerate(body.items("failed_tests")):
        if not isinstance(name, str) or not name.strip():
            raise BadReportError(f"failed_tests[{index}]", "must be a test name (a string)")
        named.append(FailedTest(name.strip()))
    return named


def _junit_tests(body: Fields) -> tuple[FailedTest, ...]:
    xml = body.optional_text("junit_xml")
    return () if xml is None else failing_tests(xml)
