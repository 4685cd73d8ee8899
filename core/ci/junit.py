"""Which tests failed, read from the JUnit XML a CI sends — untrusted, so parsed hardened."""

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden
from defusedxml.ElementTree import fromstring

from core.ci.report import BadReportError, FailedTest

MAX_BYTES = 5 * 1024 * 1024
MAX_MESSAGE = 500
FIELD = "junit_xml"
_ROOTS = ("testsuites", "testsuite")
_FAILED = ("failure", "error")


def failing_tests(xml: str | bytes) -> tuple[FailedTest, ...]:
    """The testcases with a <failure> or <error>, so a red build names what broke."""
    root = _parse(xml)
    if root.tag not in _ROOTS:
        raise BadReportError(
            FIELD, f"the root element is <{root.tag}>, not <testsuites> or <testsuite>"
        )
    found: dict[str, FailedTest] = {}
    for case in root.iter("testcase"):
        problem = next((child for child in case if child.tag in _FAILED), None)
        if problem is None:
            continue
        key = _key(case)
        found.setdefault(key, FailedTest(name=key, message=_message(problem)))
    return tuple(found.values())


def _parse(xml: str | bytes) -> Element:
    # A str holds at least as many bytes as characters: check cheaply before encoding.
    if len(xml) > MAX_BYTES or (isinstance(xml, str) and len(xml.encode()) > MAX_BYTES):
        raise BadReportError(FIELD, f"the document is over {MAX_BYTES // 1024 // 1024} MB")
    try:
        return fromstring(xml, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except EntitiesForbidden as hostile:
        raise BadReportError(FIELD, "refused: the document declares XML entities") from hostile
    except DTDForbidden as hostile:
        raise BadReportError(FIELD, "refused: the document declares a DTD") from hostile
    except DefusedXmlException as hostile:
        raise BadReportError(
            FIELD, "refused: the document refers to external resources"
        ) from hostile
    except ParseError as broken:
        raise BadReportError(FIELD, f"not well-formed XML ({broken})") from broken


def _key(case: Element) -> str:
    parts = [case.get(attr, "").strip() for attr in ("classname", "name")]
    return "::".join(part for part in parts if part) or "(unnamed testcase)"


def _message(problem: Element) -> str:
    message = (problem.get("message") or "").strip()
    if not message:
        lines = (line.strip() for line in (problem.text or "").splitlines())
        message = next((line for line in lines if line), "")
    return message[:MAX_MESSAGE]
