"""The API as ``/openapi.json`` documents it: every answer of every ``GET /api/*`` — read from
a line with a closed and an open stoppage, a five whys with its investments, a deploy and a
page — matches the schema the server publishes, with no field the schema does not name; the
bearer scheme and the 401/404/422 answers are declared; ``/docs`` opens with the token.

The application is the real one (``bot.http.app.build``) on a real SQLite database, called
in-process through schemathesis' ASGI client (a ``requests`` session).
"""

import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import requests
from schemathesis.python import asgi

from bot.andon import Andon
from bot.http import app as http_app
from bot.intents.typed import StartLine
from bot.main import open_andon
from bot.settings.environment import Settings
from bot.terminal.chat import TerminalChat
from core.actor import Actor
from core.clock import ManualClock
from core.line import Stopped, stop
from core.whys.analysis import whys_of
from core.whys.investing import record_investments
from core.whys.investments import read
from core.whys.phase import LEVELS, Phase, move
from storage.tables import Deploy, DeployHost, WhyAnswer
from tests.ci_payloads import generic, signature
from tests.harness import API_TOKEN, WEBHOOK_SECRET

T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
MARIA = Actor("U0MARIA", "maria", "slack")
LEAD = Actor("U0LEAD", "lead", "slack")
CONFIG = '[access]\nadmins = ["U0LEAD"]\n[oncall]\nrotation = ["U0ANA", "U0BEN"]\n'
BEARER = {"Authorization": f"Bearer {API_TOKEN}"}
INVESTMENTS = (
    "1: add a smoke test for sign-up due 2026-12-01 #tests\n"
    "2: alert when sign-ups drop below one an hour <@U0JOE|joe> due 2026-12-10\n"
    "3: none: the deploy did exactly what it should\n"
    "4: the review checklist asks for a payments fake @carol due 2026-12-03\n"
    "5: write the sign-up outage runbook <@U0JOE|joe> due 2026-11-30 #process"
)
# Every GET of the API, with what it is asked; each answers 200 from the seeded line.
READS = [
    "/api/line",
    "/api/stoppages/1",
    "/api/stoppages/2",
    "/api/actions",
    "/api/actions?status=none",
    "/api/deploys",
    "/api/pages",
    "/api/audit",
]


def seeded(workdir: Path) -> tuple[Andon, requests.Session]:
    """A line that has lived a little: stoppage #1 analysed and closed, #2 open, a deploy on two
    hosts, a page from a generic alert — and the app serving it."""
    (workdir / "andon.toml").write_text(CONFIG)
    settings = Settings(
        andon_database_url=f"sqlite:///{workdir / 'andon.db'}",
        andon_config=str(workdir / "andon.toml"),
        andon_api_token=API_TOKEN,
        andon_webhook_secret=WEBHOOK_SECRET,
    )
    clock = ManualClock(T0)
    andon = open_andon(settings, TerminalChat(), clock=clock, create=True)  # nothing is delivered
    _analysed(andon, clock)
    andon.execute(StartLine(force="the analysis is done"), LEAD)
    clock.advance(timedelta(hours=1))
    with andon.unit_of_work() as (session, outbox):
        stop(session, notifier=outbox, clock=clock, actor=MARIA, reason="staging is down")
    _deployed(andon, clock)
    client = asgi.get_client(http_app.build(andon, slack=None, settings=settings))
    alert = json.dumps({"name": "signups_low", "status": "firing", "value": 0.0}).encode()
    paged = client.post(
        "/hooks/alerts/generic",
        data=alert,
        headers={"Content-Type": "application/json", "X-Andon-Signature": signature(alert)},
    )
    assert paged.status_code == 200, paged.text
    return andon, client


def _analysed(andon: Andon, clock: ManualClock) -> None:
    with andon.unit_of_work() as (session, outbox):
        stopped = stop(session, notifier=outbox, clock=clock, actor=MARIA, reason="sign-up broke")
        assert isinstance(stopped, Stopped)
        stoppage_id = stopped.stoppage.id
        for level in range(1, LEVELS + 1):
            session.add(
                WhyAnswer(
                    stoppage_id=stoppage_id,
                    level=level,
                    text=f"because of reason {level}",
                    by=MARIA.id,
                    by_name=MARIA.name,
                    at=clock.now(),
                )
            )
        row = whys_of(session, stoppage_id)
        while Phase.of(row) is not Phase.INVESTING:
            move(row, Phase.of(row).following)
        session.add(row)
        session.flush()
        found = read(INVESTMENTS, author=MARIA.id, author_name=MARIA.name, today=date(2026, 11, 26))
        record_investments(
            session, notifier=outbox, clock=clock, stoppage_id=stoppage_id, actor=MARIA, found=found
        )
    clock.advance(timedelta(minutes=30))


def _deployed(andon: Andon, clock: ManualClock) -> None:
    now = clock.now()
    with andon.unit_of_work() as (session, _):
        deploy = Deploy(
            kind="deploy",
            environment="production",
            revision="a" * 40,
            status="succeeded",
            requested_at=now,
            requested_by=MARIA.id,
            requested_by_name=MARIA.name,
            via="slack",
            started_at=now,
            finished_at=now + timedelta(seconds=42),
        )
        session.add(deploy)
        session.flush()
        for position, step in enumerate(("healthy", "waiting")):
            session.add(
                DeployHost(
                    deploy_id=deploy.id,
                    position=position,
                    address=f"web-{position}.internal",
                    step=step,
                    previous_revision="b" * 40 if step == "healthy" else None,
                    started_at=now if step == "healthy" else None,
                    finished_at=now + timedelta(seconds=40) if step == "healthy" else None,
                    files_sent=3,
                    bytes_sent=2048,
                )
            )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[requests.Session]:
    andon, client = seeded(tmp_path_factory.mktemp("api-schema"))
    with client:
        yield client
    andon.database.dispose()


@pytest.fixture(scope="module")
def schema(served: requests.Session) -> dict[str, Any]:
    answer = served.get("/openapi.json", headers=BEARER)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _closed(node: Any) -> Any:
    """The schema with every object closed: a field the schema does not name is a failure."""
    if isinstance(node, list):
        return [_closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    closed = {key: _closed(value) for key, value in node.items()}
    if "properties" in closed and "additionalProperties" not in closed:
        closed["additionalProperties"] = False
    return closed


def _documented(schema: dict[str, Any], path: str, status: int, method: str) -> dict[str, Any]:
    """What the schema says ``method path`` answers with ``status``."""
    asked = path.split("?")[0]
    templates = [t for t in schema["paths"] if re.fullmatch(re.sub(r"{\w+}", "[^/]+", t), asked)]
    template = asked if asked in templates else templates[0]
    responses = schema["paths"][template][method]["responses"]
    content = responses[str(status)]["content"]["application/json"]["schema"]
    components = _closed(schema["components"])
    # FastAPI's own item of a 422: ``loc``, ``msg`` and ``type`` always, and what else depends
    # on FastAPI's version (``input`` and ``ctx`` lately, ``url`` before 0.111) — left open.
    components["schemas"]["ValidationError"] = schema["components"]["schemas"]["ValidationError"]
    return {**content, "components": components}


def _problems(
    schema: dict[str, Any], path: str, status: int, answer: Any, *, method: str = "get"
) -> list[str]:
    """Where ``answer`` differs from what the schema documents for it (nothing: ``[]``)."""
    validator = jsonschema_rs.Draft202012Validator(_documented(schema, path, status, method))
    return [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(answer)]


@pytest.mark.parametrize("path", READS)
def test_every_answer_of_the_api_is_what_its_schema_says(
    served: requests.Session, schema: dict[str, Any], path: str
) -> None:
    answer = served.get(path, headers=BEARER)
    assert answer.status_code == 200, answer.text
    assert _problems(schema, path, 200, answer.json()) == []


def test_the_seeded_answers_hold_every_kind_of_record(served: requests.Session) -> None:
    """The answers validated above are not empty lists: each model meets real rows."""
    assert served.get("/api/line", headers=BEARER).json()["stoppage"]["id"] == 2
    first = served.get("/api/stoppages/1", headers=BEARER).json()
    assert first["closed_by"]["id"] == LEAD.id and len(first["whys"]["answers"]) == LEVELS
    assert {a["status"] for a in first["investments"]} == {"open", "none"}
    hosts = served.get("/api/deploys", headers=BEARER).json()["deploys"][0]["hosts"]
    assert [h["step"] for h in hosts] == ["healthy", "waiting"]
    page = served.get("/api/pages", headers=BEARER).json()["pages"][0]
    assert page["alerts"] and page["events"]
    assert served.get("/api/audit", headers=BEARER).json()["entries"]


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/api/line", {}, 401),
        ("/api/audit", {"Authorization": "Bearer not-the-token"}, 401),
        ("/api/stoppages/9999", BEARER, 404),
        ("/api/audit?limit=0", BEARER, 422),
        ("/api/stoppages/0", BEARER, 422),
        ("/api/actions?owner=%00", BEARER, 422),
    ],
)
def test_refusals_are_documented_with_their_shape(
    served: requests.Session,
    schema: dict[str, Any],
    path: str,
    headers: dict[str, str],
    status: int,
) -> None:
    answer = served.get(path, headers=headers)
    assert answer.status_code == status, answer.text
    assert _problems(schema, path, status, answer.json()) == []


def test_the_schema_declares_the_bearer_scheme_and_the_refusals(schema: dict[str, Any]) -> None:
    scheme = schema["components"]["securitySchemes"]["ANDON_API_TOKEN"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    operations = [
        (f"{method.upper()} {path}", operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if path.startswith("/api/")
    ]
    assert len(operations) == 7
    for name, operation in operations:
        assert operation["security"] == [{"ANDON_API_TOKEN": []}], name
        assert "401" in operation["responses"], name
        assert "422" in operation["responses"] or name == "GET /api/line", name
    assert "404" in schema["paths"]["/api/stoppages/{stoppage_id}"]["get"]["responses"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"refs": [{"old": "0" * 40, "new": "a" * 40, "ref": "refs/heads/main"}]}, 200),
        ({"refs": [{"old": "0" * 40, "new": "nope", "ref": "refs/heads/main"}]}, 422),
        ({"refs": []}, 422),
    ],
)
def test_the_gate_answers_as_its_schema_says(
    served: requests.Session, schema: dict[str, Any], body: dict[str, Any], status: int
) -> None:
    answer = served.post("/api/gate", json=body, headers=BEARER)
    assert answer.status_code == status, answer.text
    assert _problems(schema, "/api/gate", status, answer.json(), method="post") == []


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/hooks/ci/generic", generic("c" * 40, "failed", pipeline="tests"), 200),
        ("/hooks/ci/generic", generic("c" * 40, "failed", pipeline="tests"), 200),  # again
        ("/hooks/ci/generic", {"revision": "c" * 40}, 422),
        ("/hooks/ci/travis", {}, 404),
        ("/hooks/alerts/generic", {"name": "disk_full", "status": "firing"}, 200),
        ("/hooks/alerts/nagios", {"NOTIFICATIONTYPE": "ACKNOWLEDGEMENT", "HOSTNAME": "w"}, 202),
        (
            "/hooks/alerts/pagerduty/v2/enqueue",
            {
                "routing_key": WEBHOOK_SECRET,
                "event_action": "trigger",
                "payload": {"summary": "Disk is full", "source": "web1", "severity": "error"},
            },
            202,
        ),
        ("/hooks/alerts/generic", {"name": "disk_full", "status": "sideways"}, 422),
    ],
)
def test_the_hooks_answer_as_the_schema_says(
    served: requests.Session, schema: dict[str, Any], path: str, body: Any, status: int
) -> None:
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-Andon-Signature": signature(raw)}
    answer = served.post(path, data=raw, headers=headers)
    assert answer.status_code == status, answer.text
    assert _problems(schema, path, status, answer.json(), method="post") == []


def _basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"anyone:{password}".encode()).decode()}


def test_docs_open_with_the_token_as_bearer_or_basic_password(served: requests.Session) -> None:
    stranger = served.get("/docs")
    assert stranger.status_code == 401
    assert stranger.headers["www-authenticate"] == 'Basic realm="andon"'
    assert served.get("/docs", headers=_basic("not-the-token")).status_code == 401
    assert served.get("/docs", headers={"Authorization": "Bearer nope"}).status_code == 401
    for given in (BEARER, _basic(API_TOKEN)):
        page = served.get("/docs", headers=given)
        assert page.status_code == 200 and "swagger-ui" in page.text
        assert "/openapi.json" in page.text and API_TOKEN not in page.text
    assert API_TOKEN not in served.get("/openapi.json", headers=_basic(API_TOKEN)).text
