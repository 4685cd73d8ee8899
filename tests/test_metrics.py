"""``/metrics`` as Prometheus reads it, from a running ``andon serve`` with a local environment.

The names follow Prometheus' rules — ``promtool check metrics`` says so when it is installed, and
the same rules are checked here from the parsed text either way. The series move: a CI result
and a refused webhook are counted, a deploy counts once it finished and its duration lands in the
histogram, a stop counts and shows the line stopped, a page is counted, Slack calls and
deliveries are counted. The example alert rules and Grafana dashboard in contrib/ use only
series /metrics serves, and the rules pass ``promtool test rules``.
"""

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.ci_payloads import signature
from tests.fakes.slack import FakeSlack
from tests.test_deploy_local import LocalLine
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "contrib" / "prometheus" / "andon-alerts.yml"
RULE_TESTS = ROOT / "contrib" / "prometheus" / "andon-alerts.test.yml"
DASHBOARD = ROOT / "contrib" / "grafana" / "andon.json"
PROMTOOL = shutil.which("promtool")
# The first names, kept for dashboards that use them: docs/operations.md names what replaces each.
DEPRECATED = {
    "andon_stoppages": "andon_stoppages_total",
    "andon_line_state_since_seconds": "andon_line_state_since_timestamp_seconds",
    "andon_outbox_messages": "andon_outbox_pending",
}
NEW = [
    "andon_build_info",
    "andon_line_stopped",
    "andon_line_state_since_timestamp_seconds",
    "andon_stoppages_total",
    "andon_outbox_pending",
    "andon_outbox_failed_total",
    "andon_deploys_total",
    "andon_deploy_duration_seconds_bucket",
    "andon_pages_total",
    "andon_webhooks_total",
    "andon_webhook_duration_seconds_bucket",
    "andon_slack_calls_total",
    "andon_outbox_delivery_seconds_bucket",
    "process_cpu_seconds_total",
    "python_info",
]
ABBREVIATED = re.compile(r"_(ms|msec|sec|secs|min|mins|hrs|kb|mb|pct)(_|$)")
YEAR_2001 = 1e9  # seconds this many are a Unix time, not a duration


class Scrape:
    """One reading of /metrics: its text and its samples."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.families = list(text_string_to_metric_families(text))
        self.samples: list[Sample] = [s for f in self.families for s in f.samples]

    def value(self, name: str, **labels: str) -> float:
        """The sample's value, 0 when it is not there yet (a counter not yet incremented)."""
        found = [s.value for s in self.samples if s.name == name and s.labels == labels]
        return found[0] if found else 0.0

    def names(self) -> set[str]:
        """Every name a query may use, a series with no sample yet too (a histogram before its
        first observation is only its HELP and TYPE)."""
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}
        declared = {f.name + suffix for f in self.families for suffix in suffixes.get(f.type, [""])}
        return declared | {s.name for s in self.samples}


def scrape(line: LocalLine) -> Scrape:
    answer = requests.get(line.server.url + "/metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return Scrape(answer.text)


def moved(line: LocalLine, name: str, *, beyond: float, **labels: str) -> Scrape:
    """The scrape once ``name{labels}`` went past ``beyond``: a delivery is counted after
    Slack's answer, a little after the request that queued it."""
    return eventually(
        lambda: (s := scrape(line)).value(name, **labels) > beyond and s,
        timeout=15,
        what=lambda: f"{name}{labels} above {beyond}: {scrape(line).value(name, **labels)}",
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def line(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack
) -> Iterator[LocalLine]:
    """One server per database for the module: the counts read from the database are the part
    that differs between them."""
    root = tmp_path_factory.mktemp(f"metrics_{request.param}")
    url = f"sqlite:///{root / 'andon.db'}"
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").create_database("andon_metrics")
    fake_slack.forget()
    running = LocalLine(root, fake_slack, {"production": {}}, database_url=url)
    yield running
    running.server.stop()


def test_a_ci_result_and_a_refused_webhook_are_counted_by_provider_and_status(
    line: LocalLine,
) -> None:
    before = scrape(line)
    ok = {"provider": "ci:generic", "status": "200"}
    line.release("first", {"app.py": "print(1)\n"})
    refused = requests.post(
        f"{line.server.url}/hooks/ci/generic",
        data=b"{}",
        headers={"X-Andon-Signature": "x"},
        timeout=10,
    )
    stranger = requests.post(f"{line.server.url}/hooks/ci/nowhere", data=b"{}", timeout=10)
    assert (refused.status_code, stranger.status_code) == (401, 404)
    after = scrape(line)
    assert (
        after.value("andon_webhooks_total", **ok) == before.value("andon_webhooks_total", **ok) + 1
    )
    for labels in (
        {"provider": "ci:generic", "status": "401"},
        {"provider": "unknown", "status": "404"},
    ):
        assert (
            after.value("andon_webhooks_total", **labels)
            == before.value("andon_webhooks_total", **labels) + 1
        )
    timed = after.value("andon_webhook_duration_seconds_count", provider="ci:generic")
    assert timed == before.value("andon_webhook_duration_seconds_count", provider="ci:generic") + 2


def test_a_finished_deploy_is_counted_with_its_duration(line: LocalLine) -> None:
    labels = {"environment": "production", "kind": "deploy", "status": "succeeded"}
    before = scrape(line)
    line.release("second", {"app.py": "print(2)\n"})
    line.slash("/deploy", "")
    assert line.finished(len(line.deploys()))["status"] == "succeeded"
    after = scrape(line)
    assert (
        after.value("andon_deploys_total", **labels)
        == before.value("andon_deploys_total", **labels) + 1
    )
    count = after.value("andon_deploy_duration_seconds_count", **labels)
    assert count == after.value("andon_deploys_total", **labels)
    inf = after.value("andon_deploy_duration_seconds_bucket", **labels, le="+Inf")
    assert inf == count  # observed once, in the bucket that holds every duration


def test_a_stop_counts_and_shows_the_line_stopped(line: LocalLine) -> None:
    before = scrape(line)
    assert before.value("andon_line_stopped") == 0
    line.slash("/line", "stop the checkout page is blank")
    after = scrape(line)
    assert after.value("andon_line_stopped") == 1
    assert after.value("andon_stoppages_total") == before.value("andon_stoppages_total") + 1
    since = after.value("andon_line_state_since_timestamp_seconds")
    assert since >= before.value("andon_line_state_since_timestamp_seconds")
    # the first names still say the same, for the dashboards that read them
    assert after.value("andon_stoppages") == after.value("andon_stoppages_total")
    assert after.value("andon_line_state_since_seconds") == since
    # the announcement went out: Slack's answer and the delivery are counted
    moved(line, "andon_outbox_delivery_seconds_count", beyond=0, kind="post")
    call = {"method": "chat.postMessage", "outcome": "ok"}
    assert scrape(line).value("andon_slack_calls_total", **call) > 0


def test_a_page_is_counted_by_source_and_severity(line: LocalLine) -> None:
    labels = {"source": "generic", "severity": "critical"}
    before = scrape(line).value("andon_pages_total", **labels)
    body = json.dumps(
        {"name": "Checkout", "status": "firing", "summary": "blank", "severity": "critical"}
    ).encode()
    answer = requests.post(
        f"{line.server.url}/hooks/alerts/generic",
        data=body,
        headers={"Content-Type": "application/json", "X-Andon-Signature": signature(body)},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    after = scrape(line)
    assert after.value("andon_pages_total", **labels) == before + 1
    ok = {"provider": "alerts:generic", "status": "200"}
    assert after.value("andon_webhooks_total", **ok) >= 1


def test_every_name_follows_prometheus_rules(line: LocalLine) -> None:
    scraped = scrape(line)
    assert not [name for name in NEW if name not in scraped.names()]
    version = [s.labels for s in scraped.samples if s.name == "andon_build_info"]
    assert version and version[0]["version"]
    problems = [p for family in scraped.families for p in _problems(family)]
    assert not problems


def test_the_naming_rules_catch_what_promtool_would() -> None:
    text = (
        "# HELP andon_refusals_total Refusals\n# TYPE andon_refusals_total gauge\n"
        "andon_refusals_total 3\n"
        "# TYPE andon_started_seconds gauge\nandon_started_seconds 1764892800\n"
        "# HELP andon_wait_ms Wait\n# TYPE andon_wait_ms histogram\n"
        'andon_wait_ms_bucket{le="+Inf"} 1\nandon_wait_ms_count 1\nandon_wait_ms_sum 2\n'
    )
    problems = [p for family in Scrape(text).families for p in _problems(family)]
    assert problems == [
        "andon_refusals_total: a gauge named like a counter",
        "andon_started_seconds: no HELP",
        "andon_started_seconds: a Unix time not named _timestamp_seconds",
        "andon_wait_ms: an abbreviated unit",
        "andon_wait_ms: a histogram without its unit",
    ]


def test_promtool_finds_nothing_to_say(line: LocalLine) -> None:
    if PROMTOOL is None:
        pytest.skip("no promtool (apt-get install prometheus): the naming test stands in")
    text = scrape(line).text
    checked = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_examples_use_only_what_metrics_serves(line: LocalLine) -> None:
    served = scrape(line).names()
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = set(re.findall(r"\b(?:andon|process|python)_[a-z_]+", " ".join(exprs)))
    used |= set(re.findall(r"\b(?:andon|process)_[a-z_]+", RULES.read_text()))
    assert used and not used - served - set(DEPRECATED)
    assert not used & set(DEPRECATED)


def test_the_dashboard_queries_parse(tmp_path: Path) -> None:
    if PROMTOOL is None:
        pytest.skip("no promtool (apt-get install prometheus)")
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    rules = [
        {"record": f"andon:panel{i}", "expr": e.replace("$job", ".+")} for i, e in enumerate(exprs)
    ]
    wrapped = tmp_path / "dashboard-rules.yml"
    wrapped.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = subprocess.run(
        [PROMTOOL, "check", "rules", str(wrapped)], capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_example_alert_rules_fire_when_they_should() -> None:
    if PROMTOOL is None:
        pytest.skip("no promtool (apt-get install prometheus)")
    for command in (["check", "rules", str(RULES)], ["test", "rules", str(RULE_TESTS)]):
        checked = subprocess.run(
            [PROMTOOL, *command], capture_output=True, text=True, timeout=30, cwd=RULES.parent
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


def _problems(family: Any) -> Iterator[str]:
    """What Prometheus' naming rules (prometheus.io/docs/practices/naming) say of one family."""
    name, kind = family.name, family.type
    if not re.fullmatch(r"(andon|process|python)_[a-z][a-z0-9_]*", name):
        yield f"{name}: not snake_case under andon_, process_ or python_"
    if not family.documentation:
        yield f"{name}: no HELP"
    if ABBREVIATED.search(name):
        yield f"{name}: an abbreviated unit"
    sample_names = {s.name for s in family.samples}
    if kind == "counter" and not all(n.endswith(("_total", "_created")) for n in sample_names):
        yield f"{name}: a counter whose samples do not end in _total"
    if kind != "counter" and any(n.endswith("_total") for n in sample_names):
        yield f"{name}: a {kind} named like a counter"
    if kind == "histogram" and not name.endswith(("_seconds", "_bytes")):
        yield f"{name}: a histogram without its unit"
    # (the counter andon_stoppages_total parses as a family named andon_stoppages too)
    if name in DEPRECATED and kind == "gauge":
        if not family.documentation.startswith(f"Deprecated: use {DEPRECATED[name]}"):
            yield f"{name}: deprecated without naming {DEPRECATED[name]}"
        return
    timed = kind == "gauge" and name.endswith("_seconds")
    standard = ("_timestamp_seconds", "process_start_time_seconds")
    if timed and any(s.value > YEAR_2001 for s in family.samples) and not name.endswith(standard):
        yield f"{name}: a Unix time not named _timestamp_seconds"
