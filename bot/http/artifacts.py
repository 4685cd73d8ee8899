"""JUnit reports a CI keeps as build artifacts, fetched for a red run that named no tests."""

import dataclasses
import logging
from urllib.parse import quote

import requests

from core.ci.junit import MAX_BYTES, failing_tests
from core.ci.report import BadReportError, BuildReport, BuildStatus

log = logging.getLogger(__name__)
TIMEOUT = (1.0, 3.0)  # connect, read: GitHub gives up on the webhook after 10 s


def with_junit(report: BuildReport, *, template: str | None) -> BuildReport:
    """The report with its failing tests read from the artifact, or as it was if none is had."""
    if template is None or report.status != BuildStatus.FAILED or report.failed_tests:
        return report
    url = junit_url(template, report)
    try:
        with requests.get(url, timeout=TIMEOUT, stream=True) as answer:
            answer.raise_for_status()
            body = answer.raw.read(MAX_BYTES + 1, decode_content=True)
        tests = failing_tests(body)
    except (requests.RequestException, OSError, BadReportError) as failed:
        log.warning("no JUnit report for %s from %s: %s", report.short, url, failed)
        return report
    return dataclasses.replace(report, failed_tests=tests)


def junit_url(template: str, report: BuildReport) -> str:
    """Fill the configured URL; every value is quoted, so none can change the URL's shape."""
    values = {
        "revision": report.revision,
        "branch": report.branch or "",
        "pipeline": report.pipeline,
        "run_id": report.run_id,
    }
    return template.format_map({k: quote(v, safe="") for k, v in values.items()})
