"""Which tests failed, read from the JUnit XML a CI sends — untrusted, so parsed hardened."""

from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden
from defusedxml.ElementTree import DefusedXMLParser

from core.ci.report import BadReportError, FailedTest

MAX_BYTES = 5 * 1024 * 1024
MAX_MESSAGE = 500
# A JUnit report is four elements deep; 5 MB of the smallest testcases is about 100,000.
MAX_DEPTH = 64
MAX_ELEMENTS = 250_000
PIECE = 64 * 1024  # fed a piece at a time, so a thread parsing it lets the others run between
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
    if len(xml) > MAX_BYTES or (
        isinstance(xml, str) and len(xml.encode(errors="surrogatepass")) > MAX_BYTES
    ):
        raise BadReportError(FIELD, f"the document is over {MAX_BYTES // 1024 // 1024} MB")
    parser = DefusedXMLParser(
        target=_Bounded(), forbid_dtd=False, forbid_entities=True, forbid_external=True
    )
    try:
        for start in range(0, len(xml), PIECE):
            parser.feed(xml[start : start + PIECE])
        return parser.close()
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
    except UnicodeEncodeError as broken:  # a lone surrogate: text no encoding can carry
        raise BadReportError(FIELD, "not well-formed XML (it is not Unicode text)") from broken


class _Bounded(TreeBuilder):
    """Builds the tree and refuses, as soon as it shows, a document too deep or too large to
    be a test report (nesting is what made parsing hold the server for seconds)."""

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0
        self._elements = 0

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        self._depth += 1
        self._elements += 1
        if self._depth > MAX_DEPTH:
            raise BadReportError(FIELD, f"refused: elements are nested deeper than {MAX_DEPTH}")
        if self._elements > MAX_ELEMENTS:
            raise BadReportError(FIELD, f"refused: more than {MAX_ELEMENTS:,} elements")
        return super().start(tag, attrs)

    def end(self, tag: str) -> Element:
        self._depth -= 1
        return super().end(tag)


def _key(case: Element) -> str:
    parts = [case.get(attr, "").strip() for attr in ("classname", "name")]
    return "::".join(part for part in parts if part) or "(unnamed testcase)"


def _message(problem: Element) -> str:
    message = (problem.get("message") or "").strip()
    if not message:
        lines = (line.strip() for line in (problem.text or "").splitlines())
        message = next((line for line in lines if line), "")
    return message[:MAX_MESSAGE]
