"""Every HTTP endpoint, fuzzed from the server's own OpenAPI schema and with signed garbage:
a malformed, oversized, wrongly typed or unsigned request is a 4xx that names the problem —
never a 5xx, and never a row written.

The server is the real FastAPI application (``bot.http.app.build``) on a real SQLite database
and on a real PostgreSQL one (where a NUL in a query or a body is the database's refusal, not
SQLite's silence), called in-process through schemathesis' ASGI client.
"""

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import schemathesis
from hypothesis import assume, event, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import response_schema_conformance

from bot.andon import Andon
from bot.http import app as http_app
from bot.http.alerts import READERS as ALERT_READERS
from bot.http.ci import READERS as CI_READERS
from bot.main import open_andon
from bot.settings.environment import Settings
from bot.terminal.chat import TerminalChat
from core.config.http import HttpConfig
from tests.ci_payloads import signature
from tests.fuzzing import fuzz, row_counts
from tests.harness import API_TOKEN, WEBHOOK_SECRET
from tests.test_alert_formats import GRAFANA, nagios, trigger

# A campaign: `make campaign` (run by .ci/run after `make test`), not `make test`.
pytestmark = pytest.mark.campaign

FIXTURES = Path(__file__).parent / "fixtures"
MAX_BODY = HttpConfig().max_body
CONFIG = '[gate]\nprotected = ["refs/heads/main"]\n'

# Every operation of the schema; a new endpoint fails the first test until it is fuzzed too.
OPERATIONS = [
    "GET /api/line",
    "GET /api/stoppages/{stoppage_id}",
    "GET /api/actions",
    "GET /api/deploys",
    "GET /api/pages",
    "GET /api/audit",
    "POST /api/gate",
    "POST /hooks/ci/{provider}",
    "POST /hooks/alerts/{provider}",
    "POST /hooks/alerts/pagerduty/v2/enqueue",
    "GET /metrics",
    "GET /healthz",
    "POST /ofrep/v1/evaluate/flags/{key}",
    "POST /ofrep/v1/evaluate/flags",
]
FLAGS_TOKEN = "fuzz-flags-token"


@dataclass
class Served:
    andon: Andon
    schema: Any
    client: Any


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp(f"fuzz-http-{request.param}")
    (workdir / "andon.toml").write_text(CONFIG)
    if request.param == "sqlite":
        url = f"sqlite:///{workdir / 'andon.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database(f"fuzz_http_{workdir.name[-6:]}")
    settings = Settings(
        andon_database_url=url,
        andon_config=str(workdir / "andon.toml"),
        andon_api_token=API_TOKEN,
        andon_webhook_secret=WEBHOOK_SECRET,
        andon_flags_token=FLAGS_TOKEN,
    )
    andon = open_andon(
        settings, TerminalChat(), create=True
    )  # the courier never starts: nothing is printed
    app = http_app.build(andon, slack=None, settings=settings)
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", app, headers={"Authorization": f"Bearer {API_TOKEN}"}
    )
    with asgi.get_client(app) as client:
        yield Served(andon, schema, client)
    andon.database.dispose()


def _problem(answer: Any) -> str:
    """What a 4xx says is wrong: FastAPI's ``detail`` (a sentence, or fields with locations), or
    OFREP's ``errorDetails``."""
    if answer.status_code == 304:
        return "not modified"
    said = answer.json()
    detail = said["detail"] if "detail" in said else said["errorDetails"]
    if isinstance(detail, list):
        return "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in detail)
    return str(detail)


def _judge(served: Served, before: dict[str, int], answer: Any, *, sent: str) -> None:
    event(f"HTTP {answer.status_code}")  # ``--hypothesis-show-statistics`` shows the spread
    assert answer.status_code < 500, f"{sent} → {answer.status_code}: {answer.text[:500]}"
    if answer.status_code >= 400:
        assert _problem(answer).strip(), f"{sent} → {answer.status_code} without a reason"
        assert row_counts(served.andon.database) == before, f"{sent} was refused but wrote rows"


def test_every_endpoint_of_the_schema_is_fuzzed(served: Served) -> None:
    found = [
        f"{op.ok().method.upper()} {op.ok().path}" for op in served.schema.get_all_operations()
    ]
    assert sorted(found) == sorted(OPERATIONS)


PROVIDERS = {
    "/hooks/ci/{provider}": [*sorted(CI_READERS), "travis"],
    "/hooks/alerts/{provider}": [*sorted(ALERT_READERS), "zabbix"],
}
AUTH = st.sampled_from(["good", "good", "good", "none", "wrong", "other scheme"])
HEADERS = {
    "good": {"Authorization": f"Bearer {API_TOKEN}"},
    "none": {},
    "wrong": {"Authorization": "Bearer not-the-token"},
    "other scheme": {"Authorization": f"Basic {API_TOKEN}"},
    "flags": {"Authorization": f"Bearer {FLAGS_TOKEN}"},
}


@pytest.mark.parametrize("operation", OPERATIONS)
@fuzz(25)
@given(data=st.data())
def test_schema_fuzz_never_answers_5xx_nor_half_writes(
    served: Served, operation: str, data: st.DataObject
) -> None:
    """Valid and invalid cases the schema describes, with a good, missing or wrong token."""
    method, path = operation.split(" ")
    mode = data.draw(st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
    fixed: dict[str, Any] = {}
    if path in PROVIDERS:
        fixed["path_parameters"] = {"provider": data.draw(st.sampled_from(PROVIDERS[path]))}
    case = data.draw(served.schema[path][method].as_strategy(generation_mode=mode, **fixed))
    auth = data.draw(AUTH) if path.startswith(("/api/", "/ofrep/")) else "none"
    if path.startswith("/ofrep/") and auth == "good":
        auth = "flags"  # the API token opens no flag: "good" there is the flags token
    before = row_counts(served.andon.database)
    try:
        answer = case.call(session=served.client, headers=HEADERS[auth])
    except (ValueError, UnicodeEncodeError):
        assume(False)  # a header no HTTP client can send (NUL, a line break): not a request
    _judge(served, before, answer, sent=f"{mode.value} {auth} {case.as_curl_command()}")
    if auth not in ("good", "flags") and path.startswith(("/api/", "/ofrep/")):
        assert answer.status_code == 401, answer.text
    if path != "/metrics":  # every answer is the shape /openapi.json documents for it
        case.validate_response(answer, checks=[response_schema_conformance])


# Webhooks signed with the right secret, so garbage reaches the parsers -----------------------


def _fixture(provider: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / provider / f"{name}.json").read_text())


SEEDS: dict[str, list[tuple[dict[str, str], Any]]] = {
    "github": [
        ({"X-GitHub-Event": "workflow_run"}, _fixture("github", "workflow_run.completed")),
        ({"X-GitHub-Event": "check_suite"}, _fixture("github", "check_suite.completed")),
        ({"X-GitHub-Event": "pull_request"}, _fixture("github", "pull_request.opened")),
    ],
    "gitlab": [
        ({}, _fixture("gitlab", "pipeline.failed")),
        ({}, _fixture("gitlab", "pipeline.success")),
    ],
    "buildbot": [
        ({}, _fixture("buildbot", "build.finished.failure")),
        ({}, _fixture("buildbot", "build.new")),
    ],
    "jenkins": [
        ({}, _fixture("jenkins", "finalized.unstable")),
        ({}, _fixture("jenkins", "started")),
    ],
    "generic": [({}, _fixture("generic", "failed.json".removesuffix(".json")))],
    "alertmanager": [
        ({}, _fixture("alertmanager", "firing")),
        ({}, _fixture("alertmanager", "resolved")),
    ],
    "grafana": [({}, GRAFANA)],
    "nagios": [({}, nagios("PROBLEM")), ({}, nagios("RECOVERY"))],
    "pagerduty": [({}, {**trigger(), "routing_key": WEBHOOK_SECRET})],
}
GENERIC_ALERT = {"name": "signups_low", "status": "firing", "severity": "critical", "value": 0.0}
SEEDS["generic-alert"] = [({}, GENERIC_ALERT)]

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=60)
    | st.sampled_from(["", "0" * 40, "f" * 40, "main", "failed", "firing", "SUCCESS", "../x"])
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, seed: Any) -> Any:
    """The seed with a few of its values replaced by others of any type, or removed."""
    body = copy.deepcopy(seed)
    for _ in range(draw(st.integers(1, 4))):
        node, trail = body, []
        while isinstance(node, dict | list) and node and draw(st.booleans()):
            key = draw(
                st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node)))
            )
            trail.append((node, key))
            node = node[key]
        if not trail:
            return draw(JSON)
        parent, key = trail[-1]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[key]
        else:
            parent[key] = draw(JSON)
    return body


def _bodies(seeds: list[tuple[dict[str, str], Any]]) -> st.SearchStrategy[tuple[dict, bytes]]:
    as_json = st.one_of(JSON, *(mutated(body) for _, body in seeds)).map(
        lambda value: json.dumps(value).encode()
    )
    headers = st.sampled_from([h for h, _ in seeds])
    raw = st.binary(max_size=300) | st.text(max_size=300).map(str.encode)
    return st.tuples(headers, st.one_of(as_json, as_json, raw))


def _signed(provider: str, headers: dict[str, str], body: bytes) -> dict[str, str]:
    if provider == "gitlab":
        return {**headers, "X-Gitlab-Token": WEBHOOK_SECRET}
    header = "X-Hub-Signature-256" if provider == "github" else "X-Andon-Signature"
    return {**headers, header: signature(body)}


@pytest.mark.parametrize("provider", sorted(CI_READERS))
@fuzz(60)
@given(sent=st.data())
def test_signed_garbage_to_a_ci_hook_is_refused_naming_the_problem(
    served: Served, provider: str, sent: st.DataObject
) -> None:
    headers, body = sent.draw(_bodies(SEEDS[provider]))
    if provider == "github":
        event = st.sampled_from(["workflow_run", "check_suite", "pull_request", "push", "x"])
        headers = {**headers, "X-GitHub-Event": sent.draw(event)}
    before = row_counts(served.andon.database)
    answer = served.client.post(
        f"http://testserver/hooks/ci/{provider}",
        data=body,
        headers={"Content-Type": "application/json", **_signed(provider, headers, body)},
    )
    _judge(served, before, answer, sent=f"{provider} {headers} {body[:300]!r}")
    assert answer.status_code in (200, 202, 400, 422), answer.text
    served.schema["/hooks/ci/{provider}"]["POST"].validate_response(answer)


@pytest.mark.parametrize("provider", sorted(ALERT_READERS))
@fuzz(60)
@given(sent=st.data(), form=st.booleans())
def test_signed_garbage_to_an_alert_hook_is_refused_naming_the_problem(
    served: Served, provider: str, sent: st.DataObject, form: bool
) -> None:
    headers, body = sent.draw(
        _bodies(SEEDS["generic-alert" if provider == "generic" else provider])
    )
    content_type = "application/json"
    if form:  # a notification script's form: the same fields, flattened to strings
        fields = sent.draw(st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=8))
        seed = SEEDS[provider if provider != "generic" else "generic-alert"][0][1]
        body = urlencode({**{k: str(v) for k, v in seed.items()}, **fields}).encode()
        content_type = "application/x-www-form-urlencoded"
    before = row_counts(served.andon.database)
    answer = served.client.post(
        f"http://testserver/hooks/alerts/{provider}",
        data=body,
        headers={"Content-Type": content_type, **_signed(provider, headers, body)},
    )
    _judge(served, before, answer, sent=f"{provider} {content_type} {body[:300]!r}")
    allowed = {200, 202, 400, 422} | ({401} if provider == "pagerduty" else set())
    assert answer.status_code in allowed, answer.text
    served.schema["/hooks/alerts/{provider}"]["POST"].validate_response(answer)


# Oversized -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        *(f"/hooks/ci/{p}" for p in sorted(CI_READERS)),
        *(f"/hooks/alerts/{p}" for p in sorted(ALERT_READERS)),
    ],
)
def test_a_body_over_the_limit_is_refused_before_it_is_read(served: Served, path: str) -> None:
    body = b"{" + b" " * MAX_BODY + b"}"
    before = row_counts(served.andon.database)
    answer = served.client.post(
        f"http://testserver{path}",
        data=body,
        headers={"Content-Type": "application/json", "X-Andon-Signature": signature(body)},
    )
    assert answer.status_code == 413
    assert "over 5 MB" in _problem(answer)
    assert row_counts(served.andon.database) == before


def test_an_oversized_push_to_the_gate_is_refused_naming_the_field(served: Served) -> None:
    ref = {"old": "0" * 40, "new": "a" * 40, "ref": "refs/heads/main"}
    body = {"refs": [ref] * 1001, "commits": [], "pusher": "p" * 256}
    before = row_counts(served.andon.database)
    answer = served.client.post("http://testserver/api/gate", json=body, headers=HEADERS["good"])
    assert answer.status_code == 422
    assert "body.refs" in _problem(answer) and "body.pusher" in _problem(answer)
    assert row_counts(served.andon.database) == before


@pytest.mark.parametrize("body", [b"{", b"[]", b"\xff", b'{"refs": 1}'])
def test_the_gate_asks_for_the_token_before_it_reads_the_body(served: Served, body: bytes) -> None:
    """Found by the schema fuzz: a stranger's malformed push got a 422 describing the body."""
    answer = served.client.post(
        "http://testserver/api/gate", data=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 401, answer.text
    assert answer.json() == {"detail": "missing or wrong bearer token"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/stoppages/2147483648",
        "/api/audit?before=2147483648",
        "/api/stoppages/9223372036854775808",
        "/api/audit?before=9223372036854775808",
    ],
)
def test_an_id_past_what_the_tables_hold_is_a_422_not_a_crash(served: Served, path: str) -> None:
    """Found by ``make fuzz``: SQLite's driver raised OverflowError past 64 bits, PostgreSQL
    refused a number past its 32-bit ``integer`` columns — each a 500."""
    answer = served.client.get(f"http://testserver{path}", headers=HEADERS["good"])
    assert answer.status_code == 422, answer.text
    assert "less than or equal to 2147483647" in _problem(answer)
