"""Feature flags end to end: ``/flag`` typed in Slack (signed requests to a running ``andon
serve``) and on the command line, evaluated by OpenFeature's own Python SDK and OFREP provider —
the clients applications use — and by the bulk endpoint with its ETag."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, DEFAULT_CONFIG, AndonServer
from tests.slack_requests import slash_command

FLAGS_TOKEN = "test-flags-token-3b9d07"
CONFIG = DEFAULT_CONFIG + (
    '[environments.production]\npath = "/srv/app"\nhosts = ["local"]\n'
    '[environments.staging]\npath = "/srv/staging"\nhosts = ["local"]\n'
)
KEYS = [f"user-{n}" for n in range(1000)]


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack
) -> Iterator[AndonServer]:
    workdir = tmp_path_factory.mktemp("flags")
    running = AndonServer(
        workdir, database_url=f"sqlite:///{workdir / 'andon.db'}", slack=fake_slack, config=CONFIG
    )
    running.env["ANDON_FLAGS_TOKEN"] = FLAGS_TOKEN
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(server: AndonServer) -> OpenFeatureClient:
    """OpenFeature as an application sets it up: the OFREP provider, Andon's URL, the token."""
    provider = OFREPProvider(
        server.url, headers_factory=lambda: {"Authorization": f"Bearer {FLAGS_TOKEN}"}
    )
    api.set_provider(provider, "andon-tests")
    return api.get_client("andon-tests")


@pytest.fixture(autouse=True)
def running_line(server: AndonServer, fake_slack: FakeSlack) -> None:
    server.reset()
    fake_slack.forget()


def flag(server: AndonServer, text: str) -> str:
    """``/flag <text>`` typed in Slack: what Slack shows the person (its blocks' text)."""
    return slash(server, "/flag", text)


def slash(server: AndonServer, command: str, text: str) -> str:
    body, kind = slash_command(
        command, text, user="U0MARIA", name="maria", response_url=server.slack.response_url()
    )
    answer = server.slack_post(body, kind)
    assert answer.status_code == 200, answer.text
    return "\n".join(_texts(answer.json()["blocks"]))


def _texts(blocks: list[dict[str, Any]]) -> list[str]:
    found = []
    for block in blocks:
        parts = [block.get("text") or {}, *(block.get("elements") or [])]
        found += [part["text"] for part in parts if isinstance(part.get("text"), str)]
    return found


def said_in_channel(fake: FakeSlack, text: str) -> dict[str, Any]:
    return fake.wait_for(
        "chat.postMessage",
        lambda p: p.get("channel") == CHANNEL and text in _shown(p),
    )[-1].params


def _shown(params: dict[str, Any]) -> str:
    return json.dumps(params.get("blocks"), ensure_ascii=False)


def context(key: str | None = "user-1", **attributes: Any) -> EvaluationContext:
    return EvaluationContext(targeting_key=key, attributes=attributes)


def test_a_flag_goes_on_and_off_as_the_openfeature_client_sees_it(
    server: AndonServer, fake_slack: FakeSlack, client: OpenFeatureClient
) -> None:
    created = flag(server, "create new-checkout The new checkout page")
    assert "Flag `new-checkout` created — off in every environment" in created
    said_in_channel(fake_slack, "created flag `new-checkout` — The new checkout page")
    off = client.get_boolean_details("new-checkout", True, context())
    assert (off.value, off.reason, off.variant) == (False, Reason.DISABLED, "off")

    assert "You turned `new-checkout` *on* in *production* (0% → 100%)" in flag(
        server, "on new-checkout"
    )
    shown = said_in_channel(fake_slack, "turned `new-checkout` *on* in *production*")
    assert "<@U0MARIA>" in json.dumps(shown["blocks"])
    on = client.get_boolean_details("new-checkout", False, context())
    assert (on.value, on.reason, on.variant) == (True, Reason.STATIC, "on")
    assert on.flag_metadata == {"environment": "production", "percentage": 100}
    assert client.get_boolean_value("new-checkout", False, context(None)) is True
    staging = client.get_boolean_details("new-checkout", True, context(environment="staging"))
    assert staging.value is False and staging.reason == Reason.DISABLED

    assert "*off* in *production* (100% → 0%)" in flag(server, "off new-checkout production")
    said_in_channel(fake_slack, "turned `new-checkout` *off* in *production*")
    assert client.get_boolean_value("new-checkout", True, context()) is False
    shown_flag = flag(server, "show new-checkout")
    assert "*production*: 0% — set by <@U0MARIA>" in shown_flag
    assert "*staging*: 0% — never changed" in shown_flag


def test_what_cannot_be_done_is_refused_with_a_sentence_and_changes_nothing(
    server: AndonServer, client: OpenFeatureClient
) -> None:
    flag(server, "create refusals")
    assert "There is already a flag `refusals`" in flag(server, "create refusals")
    assert "'Bad_Key' is not a flag key" in flag(server, "create Bad_Key")
    assert "There is no flag `nope`" in flag(server, "on nope")
    assert "'101%' is not a percentage" in flag(server, "ramp refusals 101%")
    assert "'2.5%' is not a percentage" in flag(server, "ramp refusals 2.5%")
    assert "'qa' is not an environment; flags live in: production, staging" in flag(
        server, "on refusals qa"
    )
    assert "already at 0% in production; nothing changed" in flag(server, "off refusals")
    assert client.get_boolean_value("refusals", True, context()) is False
    entries = server.api("/api/audit?limit=20").json()["entries"]
    refused = [e for e in entries if e["action"].startswith("flag.") and e["outcome"] == "refused"]
    assert len(refused) == 7

    missing = client.get_boolean_details("nope", True, context())
    assert (missing.value, missing.error_code) == (True, ErrorCode.FLAG_NOT_FOUND)
    unknown_env = client.get_boolean_details("refusals", True, context(environment="qa"))
    assert unknown_env.error_code == ErrorCode.INVALID_CONTEXT
    assert "'qa' is not an environment" in (unknown_env.error_message or "")


def test_without_the_flags_token_nothing_is_evaluated(server: AndonServer) -> None:
    flag(server, "create guarded")
    for headers in ({}, {"Authorization": "Bearer not-the-token"}):
        provider = OFREPProvider(server.url, headers_factory=lambda h=headers: h)
        api.set_provider(provider, "strangers")
        found = api.get_client("strangers").get_boolean_details("guarded", True, context())
        assert (found.value, found.error_code) == (True, ErrorCode.GENERAL)
    url = f"{server.url}/ofrep/v1/evaluate/flags"
    assert requests.post(url, json={"context": {}}, timeout=5).status_code == 401
    api_token = {"Authorization": f"Bearer {server.env['ANDON_API_TOKEN']}"}
    assert requests.post(url, json={}, headers=api_token, timeout=5).status_code == 401


def test_the_bulk_evaluation_answers_304_until_a_flag_changes(server: AndonServer) -> None:
    flag(server, "create bulk-a")
    flag(server, "create bulk-b")
    flag(server, "ramp bulk-b 50% staging")
    url = f"{server.url}/ofrep/v1/evaluate/flags"
    auth = {"Authorization": f"Bearer {FLAGS_TOKEN}"}
    body = {"context": {"targetingKey": "user-7", "environment": "staging"}}
    first = requests.post(url, json=body, headers=auth, timeout=5)
    assert first.status_code == 200
    found = {f["key"]: f for f in first.json()["flags"]}
    assert found["bulk-a"] == {
        "key": "bulk-a",
        "value": False,
        "reason": "DISABLED",
        "variant": "off",
        "metadata": {"environment": "staging", "percentage": 0},
    }
    assert found["bulk-b"]["reason"] == "SPLIT"
    etag = first.headers["ETag"]
    again = requests.post(url, json=body, headers={**auth, "If-None-Match": etag}, timeout=5)
    assert (again.status_code, again.content, again.headers["ETag"]) == (304, b"", etag)
    other = {"context": {"targetingKey": "user-8", "environment": "staging"}}
    moved = requests.post(url, json=other, headers={**auth, "If-None-Match": etag}, timeout=5)
    assert moved.status_code == 200

    flag(server, "on bulk-a staging")
    changed = requests.post(url, json=body, headers={**auth, "If-None-Match": etag}, timeout=5)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert {f["key"]: f["value"] for f in changed.json()["flags"]}["bulk-a"] is True
    bad = requests.post(url, data=b"{nope", headers=auth, timeout=5)
    assert bad.status_code == 400 and bad.json()["errorCode"] == "PARSE_ERROR"
    odd = requests.post(url, json={"context": {"targetingKey": 7}}, headers=auth, timeout=5)
    assert odd.status_code == 400 and odd.json()["errorCode"] == "INVALID_CONTEXT"


def test_a_ramp_is_sticky_and_monotone(server: AndonServer, client: OpenFeatureClient) -> None:
    flag(server, "create ramped")
    flag(server, "ramp ramped 30%")
    at_30 = {key for key in KEYS if client.get_boolean_value("ramped", False, context(key))}
    assert 260 <= len(at_30) <= 340, len(at_30)
    details = client.get_boolean_details("ramped", False, context(next(iter(at_30))))
    assert (details.reason, details.variant) == (Reason.SPLIT, "on")
    no_key = client.get_boolean_details("ramped", True, context(None))
    assert no_key.value is False and no_key.reason == Reason.TARGETING_MATCH

    assert "You ramped `ramped` to *60%* in *production* (30% → 60%)" in flag(
        server, "ramp ramped 60"
    )
    at_60 = {key for key in KEYS if client.get_boolean_value("ramped", False, context(key))}
    assert at_30 <= at_60 and 560 <= len(at_60) <= 640, len(at_60)


def test_flags_obey_the_line(server: AndonServer, fake_slack: FakeSlack) -> None:
    flag(server, "create obeys")
    flag(server, "ramp obeys 20%")
    slash(server, "/line", "stop checkout is broken")
    stoppage = server.open_stoppage()

    refused = flag(server, "on obeys")
    assert "The line is stopped since" in refused and "checkout is broken" in refused
    assert "a release is a deploy too" in refused
    assert "`/flag on obeys production fix: &lt;why&gt;`" in refused
    assert "`/flag ramp obeys 50% production fix: &lt;why&gt;`" in flag(server, "ramp obeys 50%")
    assert "(20% → 10%)" in flag(server, "ramp obeys 10%")
    assert "(10% → 0%)" in flag(server, "off obeys")
    said_in_channel(fake_slack, "turned `obeys` *off* in *production*")

    fixed = flag(server, "on obeys production fix: the checkout needs the new path")
    assert "(0% → 100%)" in fixed
    thread = fake_slack.wait_for(
        "chat.postMessage", lambda p: p.get("thread_ts") == stoppage["thread_ts"], count=2
    )
    assert "the checkout needs the new path" in json.dumps(thread[-1].params["blocks"])
    audit = server.api("/api/audit?limit=10").json()["entries"]
    changes = [e for e in audit if e["action"] == "flag.change"]
    assert changes[0]["outcome"] == "ok"
    assert changes[0]["detail"] == (
        "obeys in production: 0% → 100% (fix: the checkout needs the new path)"
    )


def test_the_command_line_obeys_the_same_rules(server: AndonServer, fake_slack: FakeSlack) -> None:
    created = server.cli("flag", "create", "from-cli", "Made", "on", "the", "CLI", "--as", "ops")
    assert created.returncode == 0, created.stderr
    ramped = server.cli("flag", "ramp", "from-cli", "140%", "staging", "--as", "ops")
    assert ramped.returncode == 1 and "'140%' is not a percentage" in ramped.stdout
    said_in_channel(fake_slack, "created flag `from-cli` — Made on the CLI")
    assert "`from-cli`: production 0% · staging 0% — Made on the CLI" in flag(server, "list")
    entry = server.api("/api/audit?limit=5").json()["entries"][1]
    assert (entry["action"], entry["via"], entry["outcome"]) == ("flag.change", "cli", "refused")


def test_the_bulk_answer_is_gzip_coded_for_clients_that_take_it(server: AndonServer) -> None:
    """requests (as OpenFeature's OFREP provider uses it) asks for gzip and decodes it; a client
    that refuses gzip gets the same JSON plain, under its own tag; either tag gets a 304."""
    flag(server, "create coded-a")
    url = f"{server.url}/ofrep/v1/evaluate/flags"
    auth = {"Authorization": f"Bearer {FLAGS_TOKEN}"}
    body = {"context": {"targetingKey": "user-9"}}
    coded = requests.post(url, json=body, headers=auth, timeout=5)
    plain = requests.post(
        url, json=body, headers={**auth, "Accept-Encoding": "identity"}, timeout=5
    )
    refused = {**auth, "Accept-Encoding": "gzip;q=0, identity"}
    also_plain = requests.post(url, json=body, headers=refused, timeout=5)

    assert coded.headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in plain.headers and "Content-Encoding" not in also_plain.headers
    assert coded.json() == plain.json() == also_plain.json()
    assert "coded-a" in {f["key"] for f in coded.json()["flags"]}
    assert coded.headers["ETag"] == plain.headers["ETag"][:-1] + '-gzip"'
    assert coded.headers["Vary"] == plain.headers["Vary"] == "Accept-Encoding"
    for tag, accept in ((coded.headers["ETag"], "identity"), (plain.headers["ETag"], "gzip")):
        asked = {**auth, "If-None-Match": tag, "Accept-Encoding": accept}
        again = requests.post(url, json=body, headers=asked, timeout=5)
        assert (again.status_code, again.content) == (304, b"")
