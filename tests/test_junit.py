"""JUnit XML from a CI names the tests that broke, and hostile XML is refused, not parsed."""

import pytest

from core.ci.junit import MAX_BYTES, failing_tests
from core.ci.report import BadReportError, FailedTest

REPORT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="unit" tests="4" failures="1" errors="1">
  <testsuite name="checkout" tests="4">
    <testcase classname="tests.test_checkout" name="test_vat_per_line" time="0.02">
      <failure message="assert 1.19 == 1.2" type="AssertionError">long traceback</failure>
    </testcase>
    <testcase classname="tests.test_payments" name="test_refund" time="0.3">
      <error type="ConnectionRefusedError">
        ConnectionRefusedError: [Errno 111] Connection refused
        during setup of fixture 'bank'
      </error>
    </testcase>
    <testcase classname="tests.test_cart" name="test_empty" time="0.01"/>
    <testcase classname="tests.test_cart" name="test_later"><skipped/></testcase>
  </testsuite>
</testsuites>
"""


def refusal(xml: str | bytes) -> BadReportError:
    with pytest.raises(BadReportError) as refused:
        failing_tests(xml)
    assert refused.value.field == "junit_xml"
    return refused.value


def test_failures_and_errors_are_named_classname_colon_colon_name_with_their_message() -> None:
    assert failing_tests(REPORT) == (
        FailedTest("tests.test_checkout::test_vat_per_line", "assert 1.19 == 1.2"),
        FailedTest(
            "tests.test_payments::test_refund",
            "ConnectionRefusedError: [Errno 111] Connection refused",
        ),
    )


def test_passing_and_skipped_testcases_are_not_failures() -> None:
    names = {test.name for test in failing_tests(REPORT)}
    assert not names & {"tests.test_cart::test_empty", "tests.test_cart::test_later"}


def test_a_bare_testsuite_root_is_read_and_a_testcase_without_classname_is_its_name() -> None:
    xml = '<testsuite name="go"><testcase name="TestDeploy"><failure>boom</failure></testcase>'
    xml += "</testsuite>"
    assert failing_tests(xml) == (FailedTest("TestDeploy", "boom"),)


def test_bytes_in_their_declared_encoding_are_read() -> None:
    xml = '<?xml version="1.0" encoding="ISO-8859-1"?><testsuite><testcase name="t">'
    xml += '<failure message="prix 3 €"/></testcase></testsuite>'
    assert failing_tests(xml.replace("€", "é").encode("latin-1"))[0].message == "prix 3 é"


def test_a_long_message_is_trimmed_to_500_characters() -> None:
    xml = f'<testsuite><testcase name="t"><failure message="{"x" * 2000}"/></testcase></testsuite>'
    assert len(failing_tests(xml)[0].message) == 500


def test_a_test_failing_twice_in_one_report_is_named_once() -> None:
    case = '<testcase classname="c" name="t"><failure message="m"/></testcase>'
    assert len(failing_tests(f"<testsuites><testsuite>{case}</testsuite>{case}</testsuites>")) == 1


def test_the_billion_laughs_entity_bomb_is_refused() -> None:
    bomb = '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    bomb += ' <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
    for level in range(2, 10):
        bomb += f' <!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">\n'
    bomb += ']>\n<testsuites><testsuite><testcase name="&lol9;"><failure/></testcase></testsuite>'
    bomb += "</testsuites>"
    assert "entities" in refusal(bomb).problem


def test_an_external_entity_that_would_read_a_local_file_is_refused() -> None:
    xxe = '<?xml version="1.0"?><!DOCTYPE t [<!ENTITY leak SYSTEM "file:///etc/passwd">]>'
    xxe += '<testsuite><testcase name="t"><failure message="&leak;"/></testcase></testsuite>'
    assert "refused" in refusal(xxe).problem


def test_a_document_over_5_mb_is_refused_before_it_is_parsed() -> None:
    oversize = "<testsuite>" + " " * MAX_BYTES  # not even well-formed: never parsed
    assert "over 5 MB" in refusal(oversize).problem
    assert "over 5 MB" in refusal(oversize.encode()).problem


def test_multibyte_text_is_measured_in_bytes() -> None:
    assert "over 5 MB" in refusal("<testsuite>" + "é" * (MAX_BYTES // 2 + 1)).problem


def test_malformed_xml_is_refused_with_where_it_broke() -> None:
    assert "line 1" in refusal("<testsuite><testcase></testsuite>").problem


def test_a_document_that_is_not_junit_is_refused() -> None:
    assert "<html>" in refusal("<html><body/></html>").problem


def test_elements_nested_past_64_are_refused_as_soon_as_they_are_read() -> None:
    """4.8 MB of ``<a>`` nested 680,000 deep once held the server for seconds."""
    deep = "<testsuite>" + "<a>" * 680_000 + "</a>" * 680_000 + "</testsuite>"
    assert refusal(deep).problem == "refused: elements are nested deeper than 64"
    fine = "<testsuite>" + "<a>" * 62 + "</a>" * 62 + '<testcase name="t"><error/></testcase>'
    assert failing_tests(fine + "</testsuite>") == (FailedTest(name="t", message=""),)


def test_more_than_250000_elements_are_refused() -> None:
    flat = "<testsuite>" + "<a/>" * 250_000 + "</testsuite>"
    assert refusal(flat).problem == "refused: more than 250,000 elements"


def test_a_lone_surrogate_is_refused_as_not_text() -> None:
    assert "not Unicode text" in refusal("<testsuite>\ud800</testsuite>").problem
