"""The edge of a running ``andon serve``, probed as an attacker would: bodies too large, too deep,
too slow or not text; strangers at the Slack door; NUL and lone surrogates on both databases;
more connections than allowed; the schema and the metrics read by anyone. Each is answered at
once with the right status and a sentence, writes nothing, and leaves no traceback in the log."""

import base64
import json
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.ci_payloads import generic, sha, signature
from tests.fakes.slack import FakeSlack
from tests.harness import API_TOKEN, CHANNEL, AndonServer
from tests.raw_http import (
    CHUNK,
    chunked,
    closed_by_server,
    connect,
    head,
    read_answer,
    send_until_answered,
)
from tests.slack_requests import block_action, signed_headers, slash_command
from tests.waiting import eventually

METRICS_TOKEN = "test-metrics-token-3b9d"
# A server with small bounds, so that a test reaches each of them in a second or two.
TIGHT = f"""[slack]
channel = "{CHANNEL}"
[http]
max_body = "1MB"
header_timeout = "1s"
body_timeout = "3s"
body_stall = "1s"
max_connections = 10
"""
BEARER = {"Authorization": f"Bearer {API_TOKEN}"}
DOORS = {  # every door that reads a body, with what makes it read one
    "/hooks/ci/generic": {"X-Andon-Signature": "sha256=" + "0" * 64},
    "/hooks/alerts/alertmanager": {"X-Andon-Signature": "sha256=" + "0" * 64},
    "/slack/events": {"X-Slack-Request-Timestamp": "0", "X-Slack-Signature": "v0=" + "0" * 64},
    "/api/gate": BEARER,
}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack
) -> Iterator[AndonServer]:
    """Andon's default bounds, with ``ANDON_METRICS_TOKEN`` set."""
    workdir = tmp_path_factory.mktemp("edge")
    running = AndonServer(workdir, database_url=f"sqlite:///{workdir / 'a.db'}", slack=fake_slack)
    running.env["ANDON_METRICS_TOKEN"] = METRICS_TOKEN
    yield running.start()
    running.stop()


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack) -> Iterator[AndonServer]:
    workdir = tmp_path_factory.mktemp("edge-tight")
    running = AndonServer(
        workdir, database_url=f"sqlite:///{workdir / 'a.db'}", slack=fake_slack, config=TIGHT
    )
    yield running.start()
    running.stop()


def newest_audit_id(server: AndonServer) -> int:
    entries = server.api("/api/audit?limit=1").json()["entries"]
    return entries[0]["id"] if entries else 0


def no_traceback(server: AndonServer) -> None:
    log = server.log()
    assert "Traceback" not in log and "Exception in ASGI" not in log, log[-3000:]


def _stamped(stamp: str, signature_: str = "v0=" + "0" * 64) -> dict[str, str]:
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature_}


def _now() -> str:
    return str(int(time.time()))


# /slack/events: strangers are refused before their body is read, signed garbage is a 400 -----

DEEP = b"[" * 1100 + b"]" * 1100
UNSIGNED = {
    "an empty timestamp": (b"{}", "application/json", lambda body: _stamped("")),
    "a timestamp that is no number": (b"{}", "application/json", lambda body: _stamped("soon")),
    "a fractional timestamp": (b"{}", "application/json", lambda b: _stamped(_now() + ".5")),
    "no signature": (b"{}", "application/json", lambda body: {"X-Slack-Request-Timestamp": _now()}),
    "non-JSON sent as JSON": (b"{nope", "application/json", lambda body: _stamped(_now())),
    "payload=notjson": (
        b"payload=notjson",
        "application/x-www-form-urlencoded",
        lambda b: _stamped(_now()),
    ),
    "JSON nested 1,100 deep": (DEEP, "application/json", lambda body: _stamped(_now())),
    "bytes that are not UTF-8": (b"\xff\xfe{}", "application/json", lambda b: _stamped(_now())),
    "another secret's signature": (
        b'{"type": "url_verification"}',
        "application/json",
        lambda body: signed_headers(body, secret="not-the-signing-secret"),
    ),
}


@pytest.mark.parametrize("case", sorted(UNSIGNED))
def test_a_stranger_at_the_slack_door_is_refused_401_before_anything_is_parsed(
    server: AndonServer, case: str
) -> None:
    body, kind, headers = UNSIGNED[case]
    before = newest_audit_id(server)
    answer = server.slack_post(body, kind, headers=headers(body))
    assert answer.status_code == 401, answer.text
    assert "X-Slack-" in answer.json()["error"], answer.text
    assert newest_audit_id(server) == before
    no_traceback(server)


SIGNED = {
    "non-JSON sent as JSON": (b"{nope", "application/json", "the body is not JSON"),
    "payload=notjson": (b"payload=notjson", "application/x-www-form-urlencoded", "not JSON"),
    "JSON nested 1,100 deep": (DEEP, "application/json", "nested deeper than 64 levels"),
    "a payload nested 1,100 deep": (
        b"payload=" + b"%5B" * 1100 + b"%5D" * 1100,
        "application/x-www-form-urlencoded",
        "nested deeper than 64 levels",
    ),
    "bytes that are not UTF-8": (b"\xff\xfe{}", "application/json", "not UTF-8"),
    "a JSON list": (b"[1, 2]", "application/json", "not a JSON object"),
}


@pytest.mark.parametrize("case", sorted(SIGNED))
def test_a_signed_body_bolt_could_not_read_is_a_400_in_words(
    server: AndonServer, case: str
) -> None:
    body, kind, said = SIGNED[case]
    before = newest_audit_id(server)
    answer = server.slack_post(body, kind)
    assert answer.status_code in (400, 422), answer.text
    assert said in answer.json()["detail"], answer.text
    assert newest_audit_id(server) == before
    assert server.api("/api/line").json()["state"] == "running"
    no_traceback(server)


# The hooks: depth, and the real senders the limit must let in --------------------------------


@pytest.mark.parametrize(
    "path",
    ["/hooks/ci/generic", "/hooks/ci/github", "/hooks/alerts/generic", "/hooks/alerts/grafana"],
)
def test_json_nested_1100_deep_to_a_hook_is_a_400_not_a_crash(
    server: AndonServer, path: str
) -> None:
    body = b'{"a": ' * 1100 + b"1" + b"}" * 1100
    before = newest_audit_id(server)
    answer = requests.post(
        server.url + path,
        data=body,
        headers={"X-Andon-Signature": signature(body), "X-Hub-Signature-256": signature(body)},
        timeout=10,
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"] == "the JSON is nested deeper than 64 levels"
    assert newest_audit_id(server) == before
    no_traceback(server)


def test_a_5_mb_junit_report_and_a_2000_alert_group_are_let_in(server: AndonServer) -> None:
    cases = "".join(
        f'<testcase classname="tests.test_module_{n // 50}" name="test_case_{n}" time="0.01">'
        f"<system-out>{'log line of the test run ' * 8}</system-out></testcase>"
        for n in range(15_500)
    )
    report = generic(sha(), "passed", junit_xml=f'<testsuite name="unit">{cases}</testsuite>')
    body = json.dumps(report).encode()
    assert 4_900_000 < len(body) < 5 * 1024 * 1024, len(body)
    answer = requests.post(
        server.url + "/hooks/ci/generic",
        data=body,
        headers={"X-Andon-Signature": signature(body)},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text[:500]

    group = _alertmanager_group(2000)
    body = json.dumps(group).encode()
    assert len(body) > 1_900_000, len(body)  # labels and annotations as Kubernetes sends them
    answer = requests.post(
        server.url + "/hooks/alerts/alertmanager",
        data=body,
        headers={"X-Andon-Signature": signature(body)},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text[:500]
    assert answer.json()["alerts"] == 2000
    no_traceback(server)


def _alertmanager_group(count: int) -> dict[str, Any]:
    """A resolved group (nothing is paged), each alert as kube-prometheus labels it."""
    fixture = Path(__file__).parent / "fixtures" / "alertmanager" / "resolved.json"
    group = json.loads(fixture.read_text())
    alert = group["alerts"][0]
    labels = {
        "alertname": "KubePodCrashLooping",
        "container": "checkout-api",
        "endpoint": "http",
        "job": "kube-state-metrics",
        "namespace": "shop-production",
        "prometheus": "monitoring/kube-prometheus-stack-prometheus",
        "service": "kube-prometheus-stack-kube-state-metrics",
        "severity": "warning",
        "uid": "6b1e0c0e-3f4e-4d52-9a0b-2f1f6c1d8e77",
    }
    group["alerts"] = [
        {
            **alert,
            "status": "resolved",
            "labels": {**labels, "pod": f"checkout-api-7d9f8b6c5d-{n:05d}"},
            "annotations": {
                "description": f"Pod shop-production/checkout-api-7d9f8b6c5d-{n:05d} "
                "(checkout-api) is in waiting state (reason: CrashLoopBackOff).",
                "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/"
                "kubepodcrashlooping",
                "summary": "Pod is crash looping.",
            },
            "fingerprint": f"{n:016x}",
            "generatorURL": "https://prometheus.example.com/graph?g0.expr=max_over_time%28"
            "kube_pod_container_status_waiting_reason%7Breason%3D%22CrashLoopBackOff%22%7D"
            "%5B5m%5D%29+%3E%3D+1&g0.tab=1",
        }
        for n in range(count)
    ]
    return group


# Bodies bounded before they are read ---------------------------------------------------------


@pytest.mark.parametrize("path", sorted(DOORS))
def test_a_content_length_over_the_limit_is_refused_unread(tight: AndonServer, path: str) -> None:
    sock = connect(tight.url)
    with sock:
        headers = {**DOORS[path], "Content-Type": "application/json", "Content-Length": "300000000"}
        sock.sendall(head("POST", path, headers))  # and not one byte of the body
        answer = read_answer(sock, timeout=10)
        assert answer.status == 413
        assert json.loads(answer.body) == {"detail": "the body is over 1 MB"}
        assert closed_by_server(sock)
    no_traceback(tight)


@pytest.mark.parametrize("path", sorted(DOORS))
def test_a_chunked_body_is_cut_at_the_limit(tight: AndonServer, path: str) -> None:
    before = newest_audit_id(tight)
    sock = connect(tight.url)
    with sock:
        headers = {**DOORS[path], "Transfer-Encoding": "chunked"}
        if path == "/slack/events":
            headers["X-Slack-Request-Timestamp"] = _now()
        sock.sendall(head("POST", path, headers))
        endless = chunked(b"[" * CHUNK for _ in range(300 * 1024 * 1024 // CHUNK))
        answer = send_until_answered(sock, endless)
    assert answer.status == 413, answer
    assert answer.detail == "the body is over 1 MB"
    assert answer.sent < 10 * 1024 * 1024, answer.sent  # of the 300 MB the stranger meant
    assert newest_audit_id(tight) == before
    no_traceback(tight)


def test_an_answer_given_before_the_body_was_read_closes_the_connection(
    tight: AndonServer,
) -> None:
    sock = connect(tight.url)
    with sock:
        sock.sendall(head("POST", "/hooks/ci/generic", {"Content-Length": "1000"}) + b"{")
        answer = read_answer(sock, timeout=10)
        assert answer.status == 401  # no credential at all: the body is not worth reading
        assert answer.headers["connection"] == "close"
        assert closed_by_server(sock)


# Slow clients are cut ------------------------------------------------------------------------


def test_headers_that_trickle_are_cut_with_408(tight: AndonServer) -> None:
    sock = connect(tight.url)
    with sock:
        trickle = (
            bytes([c])
            for c in b"GET /healthz HTTP/1.1\r\nHost: andon.test\r\nX-Slow: " + b"a" * 100
        )
        answer = send_until_answered(sock, trickle, each=0.3)
        assert answer.status == 408
        assert answer.detail == "the request's headers did not arrive within 1 s"
        assert closed_by_server(sock)
    assert "headers did not arrive within 1 s" in tight.log()


@pytest.mark.parametrize(
    ("pace", "said"),
    [(None, "the body stalled: nothing arrived for 1 s"), (0.3, "did not arrive within 3 s")],
    ids=["stalled", "trickled"],
)
def test_a_body_that_stalls_or_trickles_is_cut_with_408(
    tight: AndonServer, pace: float | None, said: str
) -> None:
    before = newest_audit_id(tight)
    sock = connect(tight.url)
    with sock:
        headers = {**DOORS["/hooks/ci/generic"], "Content-Length": "1000"}
        sock.sendall(head("POST", "/hooks/ci/generic", headers) + b"{")
        if pace is None:
            answer = read_answer(sock, timeout=30)
        else:
            answer = send_until_answered(sock, (b" " for _ in range(999)), each=pace)
        assert answer.status == 408
        assert said in answer.detail
        assert closed_by_server(sock)
    assert newest_audit_id(tight) == before
    no_traceback(tight)


def test_past_max_connections_a_request_is_answered_503(tight: AndonServer) -> None:
    held = [connect(tight.url) for _ in range(9)]  # with the next, 10: max_connections
    try:
        for sock in held:  # each answered, then kept open (keep-alive): each counts
            sock.sendall(head("GET", "/healthz", {}))
            assert read_answer(sock, timeout=10).status == 200
        answer = requests.get(tight.url + "/healthz", timeout=10)
        assert answer.status_code == 503
    finally:
        for sock in held:
            sock.close()
    eventually(
        lambda: requests.get(tight.url + "/healthz", timeout=10).status_code == 200,
        what="a 200 again once the connections closed",
    )


def test_a_polite_client_keeps_its_connection(tight: AndonServer) -> None:
    with requests.Session() as session:
        answers = [session.get(tight.url + "/healthz", timeout=10) for _ in range(2)]
        body = json.dumps(generic(sha(), "running")).encode()
        answers.append(
            session.post(
                tight.url + "/hooks/ci/generic",
                data=body,
                headers={"X-Andon-Signature": signature(body)},
                timeout=10,
            )
        )
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all(a.headers.get("connection") != "close" for a in answers)


# What is told to strangers -------------------------------------------------------------------


def _basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"me:{password}".encode()).decode()}


@pytest.mark.parametrize("path", ["/openapi.json", "/docs"])
def test_the_schema_and_its_docs_are_behind_the_api_token(server: AndonServer, path: str) -> None:
    stranger = requests.get(server.url + path, timeout=10)
    assert stranger.status_code == 401
    assert stranger.headers["www-authenticate"] == 'Basic realm="andon"'
    assert stranger.json() == {"detail": "missing or wrong token (ANDON_API_TOKEN)"}
    assert "GateBody" not in stranger.text
    for given in (BEARER, _basic(API_TOKEN)):
        answer = requests.get(server.url + path, headers=given, timeout=10)
        assert answer.status_code == 200, answer.text
    assert requests.get(server.url + path, headers=_basic("guess"), timeout=10).status_code == 401
    schema = requests.get(server.url + "/openapi.json", headers=BEARER, timeout=10).json()
    assert "/api/gate" in schema["paths"]
    assert schema["info"]["version"] == metadata.version("andon")  # as `andon --version` says


def test_metrics_are_behind_andon_metrics_token_when_it_is_set(server: AndonServer) -> None:
    stranger = requests.get(server.url + "/metrics", timeout=10)
    assert stranger.status_code == 401
    assert stranger.json() == {"detail": "missing or wrong token (ANDON_METRICS_TOKEN)"}
    assert "andon_line_stopped" not in stranger.text
    for given in ({"Authorization": f"Bearer {METRICS_TOKEN}"}, _basic(METRICS_TOKEN)):
        answer = requests.get(server.url + "/metrics", headers=given, timeout=10)
        assert answer.status_code == 200 and "andon_line_stopped 0.0" in answer.text
    assert "ANDON_METRICS_TOKEN is unset" not in server.log()


def test_metrics_are_open_without_andon_metrics_token_and_serve_says_so(
    tight: AndonServer,
) -> None:
    answer = requests.get(tight.url + "/metrics", timeout=10)
    assert answer.status_code == 200 and "andon_line_stopped" in answer.text
    assert "ANDON_METRICS_TOKEN is unset: /metrics is open" in tight.log()


# NUL and lone surrogates, refused at the edge on both databases -------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def on_each_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack
) -> Iterator[AndonServer]:
    workdir = tmp_path_factory.mktemp(f"edge-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{workdir / 'a.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database(f"edge_{workdir.name[-6:]}")
    running = AndonServer(workdir, database_url=url, slack=fake_slack, config=GATED)
    yield running.start()
    running.stop()


GATED = f'[slack]\nchannel = "{CHANNEL}"\n[gate]\nprotected = ["refs/heads/main"]\n'
REF = {"old": "0" * 40, "new": "a" * 40, "ref": "refs/heads/main"}


def _firing_alertmanager(alertname: str) -> dict[str, Any]:
    group = json.loads((Path(__file__).parent / "fixtures/alertmanager/firing.json").read_text())
    group["alerts"][0]["labels"]["alertname"] = alertname
    return group


TEXTS = {
    "an alert name with NUL": (
        "/hooks/alerts/generic",
        {"name": "disk\x00full", "status": "firing"},
        "name",
    ),
    "an alert name with a lone surrogate": (
        "/hooks/alerts/generic",
        {"name": "disk\ud800", "status": "firing"},
        "name",
    ),
    "an Alertmanager alertname with NUL": (
        "/hooks/alerts/alertmanager",
        _firing_alertmanager("Instance\x00Down"),
        "alerts[0].labels.alertname",
    ),
    "a CI subject with NUL": (
        "/hooks/ci/generic",
        generic("b" * 40, "failed", subject="fix\x00it"),
        "subject",
    ),
    "a CI branch with NUL": (
        "/hooks/ci/generic",
        generic("b" * 40, "failed", branch="ma\x00in"),
        "branch",
    ),
    "a gate pusher with NUL": ("/api/gate", {"refs": [REF], "pusher": "eve\x00"}, "pusher"),
    "a gate trailer with NUL": (
        "/api/gate",
        {
            "refs": [REF],
            "commits": [{"sha": "a" * 40, "subject": "s", "trailers": {"Line-Fix": "x\x00"}}],
        },
        "commits[0].trailers.Line-Fix",
    ),
}


@pytest.mark.parametrize("case", sorted(TEXTS))
def test_text_no_database_stores_is_a_422_naming_the_field(
    on_each_database: AndonServer, case: str
) -> None:
    server = on_each_database
    path, payload, field = TEXTS[case]
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-Andon-Signature": signature(body), **BEARER}
    before = newest_audit_id(server)
    answer = requests.post(server.url + path, data=body, headers=headers, timeout=10)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert answer.json()["detail"].startswith(f"{field} holds a "), answer.text
    assert newest_audit_id(server) == before
    no_traceback(server)


@pytest.mark.parametrize("query", ["/api/actions?owner=a%00b", "/api/deploys?environment=%00"])
def test_a_nul_in_a_query_is_a_422_naming_the_parameter(
    on_each_database: AndonServer, query: str
) -> None:
    answer = on_each_database.api(query)
    assert answer.status_code == 422, answer.text
    (problem,) = answer.json()["detail"]
    assert problem["loc"][0] == "query" and "holds a NUL character" in problem["msg"]
    no_traceback(on_each_database)


def test_what_is_typed_in_slack_is_kept_without_what_no_database_stores(
    on_each_database: AndonServer, fake_slack: FakeSlack
) -> None:
    """Slack's texts are the team's words, not a stranger's: a NUL is dropped, not refused."""
    server = on_each_database
    body, kind = slash_command(
        "/line", "stop disk\x00 full", user="U0EVE", name="eve", response_url="http://x/r"
    )
    answer = server.slack_post(body, kind)
    assert answer.status_code == 200, answer.text
    assert "You stopped the line" in answer.json()["text"]
    assert [c["text"] for c in server.open_stoppage()["causes"]] == ["disk full"]
    fake_slack.wait_for("chat.postMessage", lambda p: "disk full" in p.get("text", ""))
    no_traceback(server)


NO_ITEM = "There is no action item {}: `/actions all` lists the open ones."


@pytest.mark.parametrize("item", ["2147483648", "9223372036854775808"])
def test_a_number_past_what_the_tables_hold_is_answered_not_a_failure(
    on_each_database: AndonServer, item: str
) -> None:
    body, kind = slash_command(
        "/actions", f"done {item}", user="U0EVE", name="eve", response_url="http://x/r"
    )
    answer = on_each_database.slack_post(body, kind)
    assert answer.status_code == 200, answer.text
    assert answer.json()["text"] == NO_ITEM.format(item)
    no_traceback(on_each_database)


@pytest.mark.parametrize(
    ("action", "said"),
    [
        ("page_ack", "There is no page #2147483648."),
        ("page_resolve", "There is no page #2147483648."),
        ("action_done", NO_ITEM.format(2147483648)),
        ("deploy_approve", "There is no deploy #2147483648."),
    ],
)
def test_a_button_naming_a_row_past_what_the_tables_hold_is_answered_not_a_failure(
    on_each_database: AndonServer, fake_slack: FakeSlack, action: str, said: str
) -> None:
    before = len(fake_slack.calls("response_url"))
    url = fake_slack.response_url(action)
    body, kind = block_action(action, "2147483648", user="U0EVE", name="eve", response_url=url)
    assert on_each_database.slack_post(body, kind).status_code == 200
    told = fake_slack.wait_for("response_url", count=before + 1)
    assert told[-1].params["text"] == said
    no_traceback(on_each_database)
