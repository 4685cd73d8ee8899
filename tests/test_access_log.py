"""The access log of a running ``andon serve``: one line per request with its status and sender,
and nothing a request carried in its headers, body or query values."""

import json
from collections.abc import Iterator

import pytest
import requests

from tests.fakes.slack import FakeSlack
from tests.harness import API_TOKEN, WEBHOOK_SECRET, AndonServer
from tests.slack_requests import signed_headers, slash_command
from tests.waiting import eventually

LOGGER = "bot.http.access_log: "
STRANGER = "stranger-token-8c1e4f"  # no setting knows it: only the access log can hide it
IN_QUERY = "query-secret-5d1f9a"
IN_BODY = "body-marker-77e0b3"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack
) -> Iterator[AndonServer]:
    workdir = tmp_path_factory.mktemp("access-log")
    running = AndonServer(
        workdir, database_url=f"sqlite:///{workdir / 'andon.db'}", slack=fake_slack
    )
    yield running.start()
    running.stop()


def access_lines(server: AndonServer) -> list[str]:
    return [line.split(LOGGER, 1)[1] for line in server.log().splitlines() if LOGGER in line]


def logged(server: AndonServer, starts: str, timeout: float = 10.0) -> str:
    """The access line that starts so, once the server has written it."""
    found = eventually(
        lambda: [line for line in access_lines(server) if line.startswith(starts)],
        timeout=timeout,
        what=lambda: f"an access line {starts!r} in:\n{server.log()[-3000:]}",
    )
    return found[-1]


def test_each_request_is_one_line_with_method_path_status_duration_and_sender(
    server: AndonServer,
) -> None:
    answered = requests.get(
        f"{server.url}/api/line",
        headers={"Authorization": f"Bearer {API_TOKEN}", "User-Agent": "curl/8.5.0"},
        timeout=10,
    )
    refused = requests.get(
        f"{server.url}/api/deploys",
        headers={"User-Agent": "Alertmanager/0.25.0 (linux)"},
        timeout=10,
    )

    assert (answered.status_code, refused.status_code) == (200, 401)
    line = logged(server, "GET /api/line ")
    method, path, status, ms, unit, address, product = line.split(" ")
    assert (method, path, status, unit, address, product) == (
        "GET",
        "/api/line",
        "200",
        "ms",
        "127.0.0.1",
        "curl/8.5.0",
    )
    assert ms.isdigit()
    assert logged(server, "GET /api/deploys ").startswith("GET /api/deploys 401 ")
    assert logged(server, "GET /api/deploys ").endswith(" 127.0.0.1 Alertmanager/0.25.0")


def test_tokens_signatures_bodies_and_query_values_never_reach_the_log(
    server: AndonServer,
) -> None:
    queried = requests.get(
        f"{server.url}/api/audit?limit=5&token={IN_QUERY}",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
        timeout=10,
    )
    stranger = requests.get(
        f"{server.url}/api/line", headers={"Authorization": f"Bearer {STRANGER}"}, timeout=10
    )
    hook = requests.post(
        f"{server.url}/hooks/ci/generic",
        data=json.dumps({"revision": "a" * 40, "branch": IN_BODY, "status": "running"}),
        headers={"Authorization": f"Bearer {WEBHOOK_SECRET}", "Content-Type": "application/json"},
        timeout=10,
    )
    body, kind = slash_command(
        "/line", "status", user="U0MARIA", name="maria", response_url=server.slack.response_url()
    )
    slack = server.slack_post(body, kind)
    signature = signed_headers(body)["X-Slack-Signature"]

    assert queried.status_code == 200 and stranger.status_code == 401
    assert hook.status_code < 300 and slack.status_code == 200
    assert logged(server, "GET /api/audit").startswith("GET /api/audit?limit=…&token=… 200 ")
    assert logged(server, "POST /hooks/ci/generic ").startswith(
        f"POST /hooks/ci/generic {hook.status_code} "
    )
    assert logged(server, "POST /slack/events ").startswith("POST /slack/events 200 ")
    log = server.log()
    for secret in (IN_QUERY, STRANGER, IN_BODY, API_TOKEN, WEBHOOK_SECRET, signature[3:]):
        assert secret not in log
    assert not [line for line in access_lines(server) if "[secret]" in line]


def test_a_path_cannot_write_a_line_of_its_own(server: AndonServer) -> None:
    forged = requests.get(f"{server.url}/nowhere%0A2026-01-01%20INFO%20forged", timeout=10)

    assert forged.status_code == 404
    assert logged(server, "GET /nowhere").startswith(
        "GET /nowhere%0A2026-01-01%20INFO%20forged 404"
    )
    assert not [line for line in server.log().splitlines() if line.startswith("2026-01-01")]


def test_andon_access_log_off_silences_it(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    workdir = tmp_path_factory.mktemp("access-log-off")
    quiet = AndonServer(workdir, database_url=f"sqlite:///{workdir / 'andon.db'}", slack=None)
    quiet.env["ANDON_ACCESS_LOG"] = "off"
    quiet.start()
    try:
        answered = quiet.api("/api/line")
    finally:
        quiet.stop()

    assert answered.status_code == 200
    assert "serving on" in quiet.log()
    assert access_lines(quiet) == []
