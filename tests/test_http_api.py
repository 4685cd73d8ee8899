"""The JSON API, health and metrics of a running ``andon serve``."""

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.fakes.slack import FakeSlack
from tests.harness import API_TOKEN, AndonServer, slack_server
from tests.slack_requests import slash_command


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack
) -> Iterator[AndonServer]:
    running = slack_server(tmp_path_factory.mktemp("http-api"), fake_slack)
    yield running
    running.stop()


@pytest.mark.parametrize("path", ["/api/line", "/api/audit", "/api/stoppages/1"])
def test_the_api_refuses_requests_without_the_token(server: AndonServer, path: str) -> None:
    assert server.api(path, token=None).status_code == 401
    wrong = server.api(path, token="not-" + API_TOKEN)
    assert wrong.status_code == 401
    assert "bearer token" in wrong.json()["detail"]


def test_the_line_reads_as_the_design_says(server: AndonServer) -> None:
    line = server.api("/api/line").json()
    assert set(line) >= {"state", "since", "stoppage"}
    assert line["state"] in ("running", "stopped")
    assert "T" in line["since"] and line["since"].endswith("+00:00")


def test_an_unknown_stoppage_is_a_404_that_says_so(server: AndonServer) -> None:
    answer = server.api("/api/stoppages/9999")
    assert answer.status_code == 404
    assert answer.json()["detail"] == "no stoppage #9999"


def test_a_bad_audit_query_is_a_422_naming_the_field(server: AndonServer) -> None:
    answer = server.api("/api/audit?limit=0")
    assert answer.status_code == 422
    assert "limit" in answer.text


def test_health_answers_without_a_token(server: AndonServer) -> None:
    answer = requests.get(server.url + "/healthz", timeout=5)
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_metrics_show_the_line_and_the_outbox(server: AndonServer) -> None:
    text = requests.get(server.url + "/metrics", timeout=5).text
    assert "andon_line_stopped " in text
    assert 'andon_outbox_messages{status="pending"}' in text


def test_concurrent_stops_over_http_open_one_stoppage(server: AndonServer) -> None:
    server.reset()
    _concurrent_stops(server, 20)
    stoppage = server.api("/api/line").json()["stoppage"]
    assert len(stoppage["causes"]) == 20
    stops = [
        e
        for e in server.api("/api/audit?limit=1000").json()["entries"]
        if e["action"] == "line.stop" and e["detail"].startswith("race ")
    ]
    assert len(stops) == 20
    assert sum(e["message"].startswith("stoppage #") for e in stops) == 1


def test_concurrent_stops_on_postgresql_open_one_stoppage(
    tmp_path: Path, fake_slack: FakeSlack, postgres
) -> None:
    url = postgres.create_database("race_http")
    running = AndonServer(tmp_path, database_url=url, slack=fake_slack).start()
    try:
        _concurrent_stops(running, 20)
        stoppage = running.api("/api/line").json()["stoppage"]
        assert stoppage["id"] == 1 and len(stoppage["causes"]) == 20
    finally:
        running.stop()


def _concurrent_stops(server: AndonServer, n: int) -> None:
    barrier = threading.Barrier(n)
    answers: list[int] = []

    def pull(i: int) -> None:
        body, kind = slash_command(
            "/line",
            f"stop race {i}",
            user=f"U0RACE{i:02d}",
            name=f"racer{i}",
            response_url=server.slack.response_url(),
        )
        barrier.wait()
        answers.append(server.slack_post(body, kind).status_code)

    threads = [threading.Thread(target=pull, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200] * n
