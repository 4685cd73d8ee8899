"""Built-in checks: a metric Andon polls itself pages when it stays out of bounds, and resolves.

Real SQLite, a real HTTP metric endpoint and a fake Prometheus on loopback, the local transport
for host stats; the clock is one the test moves.
"""

import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.andon import Andon
from bot.hosts.local import LocalTransport
from bot.outbox.courier import Courier
from bot.probes import metrics
from bot.render.checks import NONE_CONFIGURED
from bot.render.checks import checks as render_checks
from bot.terminal.chat import TerminalChat
from bot.workers.checks import Checker
from bot.workers.deploys import Hosts
from core.alerts.event import AlertEvent, AlertStatus
from core.checks import judge
from core.checks.judge import CheckHealth, CheckView
from core.checks.readings import CheckError, Reading, read
from core.clock import ManualClock
from core.config.alerts import Check
from core.config.file import AndonConfig
from core.config.hosts import Environment
from storage.database import Database
from tests.ssh_hosts import SshFleet

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)

# What a check reads and how it is judged does not depend on the database; the claim does.
pytestmark = pytest.mark.databases("sqlite")


class Loopback:
    """A metric endpoint and a fake Prometheus on 127.0.0.1, answering what the test last set."""

    def __init__(self) -> None:
        self.answers: dict[str, Any] = {}  # path → JSON value, raw bytes, or (status, either)
        self.queries: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                owner.queries += parse_qs(url.query).get("query", [])
                if url.path not in owner.answers:
                    self.send_error(404)
                    return
                found = owner.answers[url.path]
                status, found = found if isinstance(found, tuple) else (200, found)
                body = found if isinstance(found, bytes) else json.dumps(found).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def vector(*series: tuple[dict[str, str], str]) -> dict[str, Any]:
    """A Prometheus instant-query answer holding these (labels, value) series."""
    result = [{"metric": labels, "value": [1772442000.0, value]} for labels, value in series]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check(**fields: Any) -> Check:
    return Check.model_validate({"every": "60s", **fields})


@dataclass
class Checking:
    """Andon with some checks, the alerts it sent, and a clock the test moves."""

    andon: Andon
    clock: ManualClock
    checker: Checker
    sent: list[AlertEvent] = field(default_factory=list)

    def run(self) -> list[AlertEvent]:
        """One scheduler tick; the alerts it sent."""
        before = len(self.sent)
        self.checker.tick()
        return self.sent[before:]

    def later(self, by: timedelta = MINUTE) -> list[AlertEvent]:
        self.clock.advance(by)
        return self.run()

    def overview(self) -> dict[str, CheckView]:
        with self.andon.database.reading() as session:
            views = judge.overview(session, checks=self.andon.config.checks, clock=self.clock)
        return {view.name: view for view in views}


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    server = Loopback()
    yield server
    server.close()


@pytest.fixture
def andon_with(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Checking]]:
    made: list[Checker] = []

    def make(*checks: Check, environments: dict[str, Environment] | None = None) -> Checking:
        clock = ManualClock(START)
        config = AndonConfig(checks=list(checks), environments=environments or {})
        courier = Courier(database, TerminalChat(), clock=clock)
        andon = Andon(database=database, config=config, clock=clock, courier=courier, channel="")
        checking = Checking(andon, clock, Checker(andon))
        recorded = andon.record_alerts

        def record(events: list[AlertEvent], *, source: str) -> Any:
            checking.sent.extend(events)
            return recorded(events, source=source)

        monkeypatch.setattr(andon, "record_alerts", record)
        made.append(checking.checker)
        return checking

    yield make
    for checker in made:
        checker.close()


def signups(loopback: Loopback, **fields: Any) -> Check:
    return check(
        name="signups_per_minute",
        url=f"{loopback.url}/signups.json",
        json_path="count",
        min=10,
        **fields,
    )


# --- bounds and time -----------------------------------------------------------------------


def test_a_value_within_bounds_fires_nothing(loopback: Loopback, andon_with: Callable) -> None:
    loopback.answers["/signups.json"] = {"count": 12}
    line = andon_with(signups(loopback, **{"for": "3m"}))

    assert line.run() == []
    assert line.later() == []

    view = line.overview()["signups_per_minute"]
    assert (view.health, view.state, view.value, view.bounds) == (
        CheckHealth.OK,
        "ok",
        "12",
        "min 10",
    )
    assert view.checked_at == START + MINUTE


def test_out_of_bounds_for_its_for_pages_once_and_resolves_once(
    loopback: Loopback, andon_with: Callable
) -> None:
    loopback.answers["/signups.json"] = {"count": 2}
    line = andon_with(signups(loopback, **{"for": "3m"}))

    assert line.run() == []
    assert line.overview()["signups_per_minute"].state == "out of bounds since 09:00 UTC"
    assert line.later() == []
    assert line.later() == []
    [fired] = line.later()  # three minutes out of bounds

    assert fired.status == AlertStatus.FIRING
    assert fired.summary == "signups_per_minute is 2 (min 10) for 3 min"
    assert (fired.source, fired.key, fired.name, fired.value) == (
        "check",
        "signups_per_minute",
        "signups_per_minute",
        "2",
    )
    assert fired.url == f"{loopback.url}/signups.json"
    assert dict(fired.labels) == {"check": "signups_per_minute"}
    assert fired.started_at == START
    assert line.overview()["signups_per_minute"].state == "firing"

    assert line.later() == []  # still out of bounds: the same page, not another one
    assert line.later() == []

    loopback.answers["/signups.json"] = {"count": 14}
    [resolved] = line.later()
    assert resolved.status == AlertStatus.RESOLVED
    assert resolved.summary == "signups_per_minute is back within bounds: 14 (min 10)"
    assert line.later() == []
    assert line.overview()["signups_per_minute"].state == "ok"


def test_a_dip_shorter_than_for_pages_nobody_and_the_count_starts_again(
    loopback: Loopback, andon_with: Callable
) -> None:
    loopback.answers["/signups.json"] = {"count": 3}
    line = andon_with(signups(loopback, **{"for": "3m"}))
    assert line.run() == []
    assert line.later() == []

    loopback.answers["/signups.json"] = {"count": 11}
    assert line.later() == []

    loopback.answers["/signups.json"] = {"count": 3}
    assert line.later() == []
    assert line.later() == []  # out for two minutes since the dip, not four
    assert line.overview()["signups_per_minute"].state == "out of bounds since 09:03 UTC"


def test_without_for_a_crossing_pages_at_once_naming_the_bound_it_crossed(
    loopback: Loopback, andon_with: Callable
) -> None:
    loopback.answers["/errors"] = {"rate": 0.071}
    line = andon_with(
        check(name="error_rate", url=f"{loopback.url}/errors", json_path="rate", min=0, max=0.05)
    )

    [fired] = line.run()
    assert fired.summary == "error_rate is 0.071 (max 0.05)"
    assert fired.value == "0.071"


def test_an_unreachable_endpoint_counts_as_out_of_bounds_with_the_error_shown(
    andon_with: Callable,
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/signups.json"
    line = andon_with(check(name="signups", url=url, min=1, **{"for": "2m"}))

    assert line.run() == []
    view = line.overview()["signups"]
    assert view.health == CheckHealth.ERROR
    assert view.state == f"error: {url} could not be reached: Connection refused"
    assert view.value is None

    assert line.later() == []
    [fired] = line.later()
    assert fired.status == AlertStatus.FIRING
    assert (
        fired.summary == f"signups cannot be read: {url} could not be reached: Connection refused"
    )
    assert fired.value is None
    assert line.overview()["signups"].error is not None


def test_an_alert_that_could_not_be_recorded_is_sent_again_on_the_next_run(
    loopback: Loopback, andon_with: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    loopback.answers["/signups.json"] = {"count": 0}
    line = andon_with(signups(loopback))
    working = line.andon.record_alerts

    def broken(events: list[AlertEvent], *, source: str) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(line.andon, "record_alerts", broken)
    assert line.checker.tick() == 1  # logged, not raised

    monkeypatch.setattr(line.andon, "record_alerts", working)
    [fired] = line.later()
    assert fired.status == AlertStatus.FIRING


# --- reading -------------------------------------------------------------------------------


def _read(found: Check, **kwargs: Any) -> Reading:
    return read(found, metrics=metrics.get, transport_for=lambda _name: LocalTransport(), **kwargs)


def test_json_path_reaches_into_nested_objects_and_lists(loopback: Loopback) -> None:
    loopback.answers["/stats"] = {
        "data": {"series": [{"count": 3}, {"count": "41.5"}, {"count": "many"}]}
    }
    loopback.answers["/plain"] = 7
    at = f"{loopback.url}/stats"

    def value(path: str) -> float:
        return _read(check(name="c", url=at, json_path=path, min=0)).value

    assert value("data.series.0.count") == 3
    assert value("data.series.1.count") == 41.5  # a numeric string counts
    assert value("data.series.-2.count") == 41.5  # counted from the end, as in Python
    assert _read(check(name="c", url=f"{loopback.url}/plain", min=0)) == Reading(7, None)

    with pytest.raises(CheckError, match=r"has no data\.series\.5: a list of 3 is there"):
        value("data.series.5.count")
    with pytest.raises(CheckError, match=r"has no data\.total$"):
        value("data.total")
    with pytest.raises(CheckError, match=r"data\.series\.2\.count of .* is 'many', not a number"):
        value("data.series.2.count")
    with pytest.raises(CheckError, match=r"data\.series of .* is a list, not a number"):
        value("data.series")
    with pytest.raises(CheckError, match=r"answered HTTP 404"):
        _read(check(name="c", url=f"{loopback.url}/missing", min=0))


def test_a_body_that_is_not_json_is_named_as_such(loopback: Loopback) -> None:
    loopback.answers["/html"] = b"<html>down for maintenance</html>"
    with pytest.raises(CheckError, match="did not answer JSON"):
        _read(check(name="c", url=f"{loopback.url}/html", min=0))


def test_a_password_in_the_url_never_appears_in_what_people_read(andon_with: Callable) -> None:
    port = closed_port()
    line = andon_with(check(name="c", url=f"http://bot:s3cret@127.0.0.1:{port}/m", min=1))

    [fired] = line.run()
    assert "s3cret" not in fired.summary
    assert "s3cret" not in (fired.url or "")
    assert "s3cret" not in line.overview()["c"].reads


def test_a_prometheus_vector_is_judged_by_its_worst_series_which_is_named(
    loopback: Loopback, andon_with: Callable
) -> None:
    loopback.answers["/api/v1/query"] = vector(
        ({"__name__": "http_error_ratio", "instance": "web1:9100", "job": "api"}, "0.01"),
        ({"__name__": "http_error_ratio", "instance": "web2:9100", "job": "api"}, "0.12"),
        ({"__name__": "http_error_ratio", "instance": "web3:9100", "job": "api"}, "NaN"),
    )
    query = 'http_error_ratio{job="api"}'
    line = andon_with(check(name="errors", prometheus_url=loopback.url, query=query, max=0.05))

    [fired] = line.run()
    assert fired.summary == (
        'errors is 0.12 on http_error_ratio{instance="web2:9100", job="api"} (max 0.05)'
    )
    assert loopback.queries == [query]

    lowest = check(name="rps", prometheus_url=loopback.url, query=query, min=0.05)
    assert _read(lowest).value == 0.01
    assert _read(lowest).where == 'http_error_ratio{instance="web1:9100", job="api"}'


def test_prometheus_without_data_is_not_a_green_check(loopback: Loopback) -> None:
    found = check(name="rps", prometheus_url=loopback.url, query="sum(rate(x[5m]))", min=1)

    loopback.answers["/api/v1/query"] = vector()
    with pytest.raises(CheckError, match="no data"):
        _read(found)

    loopback.answers["/api/v1/query"] = {
        "status": "success",
        "data": {"resultType": "scalar", "result": [1772442000.0, "4.5"]},
    }
    assert _read(found) == Reading(4.5, None)

    loopback.answers["/api/v1/query"] = {
        "status": "success",
        "data": {"resultType": "matrix", "result": []},
    }
    with pytest.raises(CheckError, match="answered a matrix"):
        _read(found)


def test_a_query_prometheus_refuses_is_an_error_in_its_own_words(loopback: Loopback) -> None:
    said = "1:5: parse error: unexpected end of input"
    loopback.answers["/api/v1/query"] = (
        400,
        {"status": "error", "errorType": "bad_data", "error": said},
    )
    found = check(name="rps", prometheus_url=loopback.url, query="sum(", min=1)

    with pytest.raises(CheckError) as refused:
        _read(found)
    assert str(refused.value) == f"Prometheus at {loopback.url} refused the query: {said}"


@pytest.mark.parametrize(
    ("stat", "highest"),
    [("load", None), ("disk_used_percent", 100), ("memory_used_percent", 100)],
)
def test_host_stats_are_read_on_the_hosts_themselves(
    tmp_path: Path, stat: str, highest: float | None
) -> None:
    environments = {"web": Environment(path=str(tmp_path), hosts=["local"])}
    found = check(name="hosts", environment="web", stat=stat, max=90)

    reading = _read(found, environments=environments)

    assert reading.where == "local"
    assert reading.value >= 0
    assert highest is None or reading.value <= highest


def test_a_mount_that_is_not_there_fails_the_check_in_df_s_words(tmp_path: Path) -> None:
    environments = {"web": Environment(path=str(tmp_path), hosts=["local"])}
    found = check(
        name="disk", environment="web", stat="disk_used_percent", mount="/no/such", max=90
    )

    with pytest.raises(CheckError, match=r"^local: cannot read disk_used_percent: `df -P -- "):
        _read(found, environments=environments)


def test_host_stats_over_ssh_come_from_every_host_and_a_dead_one_is_named(
    fleet: SshFleet,
) -> None:
    environments = {
        "web": Environment(
            path="/srv/app",
            hosts=[fleet.host_table(index) for index in range(3)],
            ssh_key=str(fleet.key_path),
            known_hosts=str(fleet.known_hosts_path),
        )
    }
    hosts = Hosts(environments)
    found = check(name="memory", environment="web", stat="memory_used_percent", max=99)
    try:
        reading = read(found, metrics=metrics.get, transport_for=hosts, environments=environments)
        assert 0 <= reading.value <= 100
        assert reading.where in {host.address for host in fleet.hosts}

        fleet.kill(1)
        with pytest.raises(CheckError, match=rf"^{re.escape(fleet.hosts[1].address)}: "):
            read(found, metrics=metrics.get, transport_for=hosts, environments=environments)
    finally:
        hosts.close()


def test_an_unreachable_host_fails_the_check_naming_it(tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    address = f"deploy@127.0.0.1:{closed_port()}"
    environments = {
        "web": Environment(
            path=str(tmp_path), hosts=["local", address], known_hosts=str(known_hosts)
        )
    }
    hosts = Hosts(environments)
    try:
        found = check(name="disk", environment="web", stat="disk_used_percent", max=90)
        with pytest.raises(CheckError, match=rf"^{address}: cannot connect"):
            read(found, metrics=metrics.get, transport_for=hosts, environments=environments)
    finally:
        hosts.close()


# --- claiming and showing ------------------------------------------------------------------


@pytest.mark.databases("sqlite", "postgresql")
def test_due_claims_each_check_once_per_every(database: Database, clock: ManualClock) -> None:
    """On both databases: the claim is what keeps two replicas from running one check twice."""
    fast = check(name="fast", url="http://127.0.0.1:9/a", min=1, every="30s")
    slow = check(name="slow", url="http://127.0.0.1:9/b", min=1, every="5m")

    def due() -> list[str]:
        with database.writing() as session:
            return [c.name for c in judge.due(session, checks=[fast, slow], clock=clock)]

    assert due() == ["fast", "slow"]
    assert due() == []  # the same moment, another replica: nothing left to run
    clock.advance(timedelta(seconds=29))
    assert due() == []
    clock.advance(timedelta(seconds=1))
    assert due() == ["fast"]
    clock.advance(timedelta(minutes=5))
    assert due() == ["fast", "slow"]


def test_the_overview_says_how_each_check_stands(loopback: Loopback, andon_with: Callable) -> None:
    loopback.answers["/m"] = {"ok": 50, "low": 1}
    line = andon_with(
        check(name="fine", url=f"{loopback.url}/m", json_path="ok", min=10, max=90),
        check(name="slipping", url=f"{loopback.url}/m", json_path="low", min=10, **{"for": "1h"}),
        check(name="paging", url=f"{loopback.url}/m", json_path="low", min=10),
        check(name="blind", url=f"{loopback.url}/gone", min=10, **{"for": "1h"}),
    )
    assert {v.name: v.state for v in line.overview().values()} == {
        "fine": "not run yet",
        "slipping": "not run yet",
        "paging": "not run yet",
        "blind": "not run yet",
    }

    line.run()
    views = line.overview()

    assert [v.health for v in views.values()] == [
        CheckHealth.OK,
        CheckHealth.OUT,
        CheckHealth.FIRING,
        CheckHealth.ERROR,
    ]
    assert views["fine"].bounds == "min 10, max 90"
    assert views["slipping"].state == "out of bounds since 09:00 UTC"
    assert views["blind"].state == f"error: {loopback.url}/gone answered HTTP 404"

    shown = render_checks(list(views.values()))
    assert shown["text"] == "Checks: 1 firing, 1 error, 1 out of bounds, 1 ok"
    assert ":red_circle: *paging* — firing" in shown["blocks"][2]["text"]["text"]


def test_no_checks_configured_says_how_to_add_one() -> None:
    assert render_checks([])["text"] == NONE_CONFIGURED


def test_a_per_host_check_is_polled_on_the_hosts_that_watch_it_and_a_watch_only_one_is_not(
    loopback: Loopback, andon_with: Callable
) -> None:
    loopback.answers["/hosts/2201.json"] = {"count": 15}
    loopback.answers["/hosts/2202.json"] = {"count": 4}
    loopback.answers["/total.json"] = {"count": 0}
    web = Environment(
        path="/srv/app",
        hosts=["deploy@web1:2201", "deploy@web2:2202"],
        watch=["signups", "orders"],
    )
    per_host = f"{loopback.url}/hosts/{{port}}.json"
    line = andon_with(
        check(name="signups", url=per_host, json_path="count", min=10),
        check(name="orders", url=f"{loopback.url}/total.json", json_path="count", max_drop="20%"),
        environments={"production": web},
    )

    [fired] = line.run()  # only signups is polled: a drop needs a watch's baseline
    assert fired.summary == "signups is 4 on deploy@web2:2202 (min 10)"
    views = line.overview()
    assert views["orders"].state == "not run yet"
    assert views["orders"].bounds == "max drop 20%"
