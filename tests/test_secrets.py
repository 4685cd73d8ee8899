"""Tokens and secrets never leave the process: a whole day of the line on a real ``andon serve``
(a red build stops the line, a five-whys reply, a deploy to ``local``, pages, a Slack outage, bad
signatures, an error with every secret in its message) with a distinctive value for every secret
setting, and one pasted into a reason; then the server's whole log, every call the fake Slack
received, the audit log, the database (outbox included) and the CLI's output are searched for
each value and its obvious encodings. And ``/api/*`` — every route the app has, found from the
app itself — answers 401 with nothing in the body to a missing, wrong or empty bearer token."""

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from fastapi.routing import APIRoute
from sqlmodel import select

from bot.http import app as http_app
from bot.settings.environment import Settings
from bot.settings.secrets import Scrubber
from storage import migrate
from storage.database import Database
from storage.tables import AuditEntry, OutboxMessage
from tests.ci_payloads import generic
from tests.deploy_line import App, newest_ended, toml_value
from tests.fakes.slack import APP_TOKEN, FakeSlack
from tests.fakes.socket_mode import FakeSocketMode
from tests.harness import CHANNEL, AndonServer, run_cli
from tests.leaks import SECRETS, database_dump, leaks, slack_calls
from tests.slack_requests import signed_headers, slash_command, thread_reply, view_submission
from tests.waiting import eventually


def test_every_secret_setting_of_env_example_is_searched_for() -> None:
    """A new secret in .env.example or Settings fails here until the search covers it."""
    example = (Path(__file__).parent.parent / ".env.example").read_text()
    named = {
        line.lstrip("#").split("=", 1)[0]
        for line in example.splitlines()
        if "=" in line and line.lstrip("#").split("=", 1)[0].isupper()
    }
    secret_like = {n for n in named if n.endswith(("_TOKEN", "_SECRET"))}
    assert secret_like <= set(SECRETS), secret_like - set(SECRETS)
    secret_fields = {
        name.upper()
        for name, field in Settings.model_fields.items()
        if "SecretStr" in str(field.annotation)
    }
    assert secret_fields <= set(SECRETS), secret_fields - set(SECRETS)


class SocketSlack(FakeSlack):
    """The session's fake Slack, accepting this test's app token for Socket Mode."""

    def _answer(self, method: str, params: dict[str, Any], auth: str) -> tuple[int, dict, dict]:
        if auth == f"Bearer {SECRETS['SLACK_APP_TOKEN']}":
            auth = f"Bearer {APP_TOKEN}"
        return super()._answer(method, params, auth)


def _sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Day:
    """``andon serve`` with every secret set, Slack over HTTP events and Socket Mode at once."""

    def __init__(self, root: Path, slack: FakeSlack) -> None:
        self.root, self.slack = root, slack
        self.app = App(root / "git")
        config = "\n".join(
            [
                "[slack]",
                f'channel = "{CHANNEL}"',
                "[repo]",
                f"path = {toml_value(str(self.app.clone))}",
                "[environments.production]",
                f"path = {toml_value(str(root / 'hosts'))}",
                'hosts = ["local"]',
                "[oncall]",
                'rotation = ["U0ONCALL"]',
            ]
        )
        self.server = AndonServer(
            root / "andon",
            database_url=f"sqlite:///{root / 'andon.db'}",
            slack=slack,
            config=config,
        )
        self.server.env.update(SECRETS)

    def hook(self, path: str, payload: Any, **headers: str) -> requests.Response:
        body = json.dumps(payload).encode()
        if not headers:
            headers = {"X-Andon-Signature": _sign(body, SECRETS["ANDON_WEBHOOK_SECRET_GENERIC"])}
        sent = {"Content-Type": "application/json", **headers}
        return requests.post(self.server.url + path, data=body, headers=sent, timeout=10)

    def slack_post(self, body: bytes, kind: str, *, good: bool = True) -> requests.Response:
        secret = SECRETS["SLACK_SIGNING_SECRET"] if good else "not-the-signing-secret"
        return self.server.slack_post(body, kind, headers=signed_headers(body, secret=secret))

    def slash(self, command: str, text: str, *, good: bool = True) -> requests.Response:
        url = self.slack.response_url()
        body, kind = slash_command(command, text, user="U0ANA", name="ana", response_url=url)
        return self.slack_post(body, kind, good=good)

    def open_stoppage(self, timeout: float = 10.0) -> dict[str, Any]:
        def delivered() -> dict[str, Any] | None:
            found = self.api("/api/line")["stoppage"]
            return found if found and found["thread_ts"] else None

        return eventually(
            delivered,
            timeout=timeout,
            what=lambda: f"a delivered open stoppage: {self.api('/api/line')['stoppage']}",
        )

    def api(self, path: str) -> Any:
        answer = self.server.api(path, token=SECRETS["ANDON_API_TOKEN"])
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture
def day(tmp_path: Path) -> Iterator[Day]:
    with FakeSocketMode() as socket_mode, SocketSlack(token=SECRETS["SLACK_BOT_TOKEN"]) as slack:
        slack.socket_url = socket_mode.url
        running = Day(tmp_path, slack)
        running.server.start()
        socket_mode.wait_connected()
        yield running
        running.server.stop()


def _stop_the_line_and_answer_a_why(day: Day) -> str:
    """A red build on main stops the line; someone answers the first why in the thread (a
    signed event). Returns the red revision."""
    red = day.app.commit("break sign-up", {"app.py": "raise SystemExit(1)\n"})
    answer = day.hook("/hooks/ci/generic", generic(red, "failed", run_id="r1"))
    assert answer.status_code == 200, answer.text
    stoppage = day.open_stoppage()
    body, kind = thread_reply(
        "because the sign-up test was skipped",
        user="U0ANA",
        thread_ts=stoppage["thread_ts"],
        event_id="E1",
    )
    assert day.slack_post(body, kind).status_code == 200
    _audited(day, "whys.reply")
    return red


def _ship_a_fix(day: Day) -> None:
    """A green fix ships to ``local`` while the line is stopped."""
    fix = day.app.commit("fix sign-up", {"app.py": "print('ok')\n"})
    assert day.hook("/hooks/ci/generic", generic(fix, "passed", run_id="r2")).status_code == 200
    body, kind = slash_command(
        "/deploy",
        f"{fix[:7]} fix: sign-up",
        user="U0ANA",
        name="ana",
        response_url=day.slack.response_url(),
    )
    assert "Deploying" in day.slack_post(body, kind).json()["text"]
    _finished(day)


def _page_twice(day: Day) -> dict[str, Any]:
    """Pages: the generic provider's own secret, and the shared one as a bearer token. Returns
    the generic alert."""
    alert = {"name": "signups_low", "status": "firing", "summary": "no sign-ups"}
    assert day.hook("/hooks/alerts/generic", alert).status_code in (200, 202)
    shared = {"Authorization": f"Bearer {SECRETS['ANDON_WEBHOOK_SECRET']}"}
    alertmanager = {
        "version": "4",
        "status": "firing",
        "receiver": "andon",
        "alerts": [{"status": "firing", "labels": {"alertname": "disk_full"}, "annotations": {}}],
    }
    assert day.hook("/hooks/alerts/alertmanager", alertmanager, **shared).status_code in (200, 202)
    day.slack.wait_for("chat.postMessage", lambda p: str(p.get("channel", "")).startswith("D"))
    return alert


def _paste_a_token_during_an_outage(day: Day) -> None:
    """Slack fails for a while; the courier retries and logs it. Someone pastes a token into the
    reason: the channel, the stoppage and the audit log get it masked, as everything Andon
    stores and posts."""
    day.slack.fail(500, count=2, methods={"chat.postMessage"})
    pasted = f"stop during an outage, the token {SECRETS['ANDON_API_TOKEN']} is in the log"
    body, kind = slash_command(
        "/line", pasted, user="U0ANA", name="ana", response_url=day.slack.response_url()
    )
    assert day.slack_post(body, kind).status_code == 200
    stopped = day.slack.wait_for(
        "chat.postMessage", lambda p: "during an outage" in str(p.get("text", ""))
    )
    assert "the token [secret] is in the log" in stopped[-1].params["text"]


def _knock_with_wrong_secrets(day: Day, *, red: str, alert: dict[str, Any]) -> None:
    """Bad signatures and wrong tokens at every door."""
    assert day.slash("/line", "status", good=False).status_code == 401
    wrong = {"X-Andon-Signature": _sign(b"{}", "guess")}
    assert day.hook("/hooks/ci/generic", generic(red, "failed"), **wrong).status_code == 401
    assert day.hook("/hooks/alerts/generic", alert, **wrong).status_code == 401
    assert day.server.api("/api/line", token="guess").status_code == 401


def _fail_with_every_secret_in_the_message(day: Day) -> None:
    """An error on Andon's side whose message carries every secret: logged, scrubbed."""
    everything = " ".join(SECRETS.values())
    body, kind = view_submission(
        "whys_form", {}, user="U0ANA", name="ana", private_metadata=everything
    )
    answer = day.slack_post(body, kind)
    assert answer.status_code == 200 and "error" in answer.text, answer.text


def test_no_secret_reaches_a_log_a_message_the_audit_log_or_the_database(day: Day) -> None:
    server, slack = day.server, day.slack
    red = _stop_the_line_and_answer_a_why(day)
    _ship_a_fix(day)
    alert = _page_twice(day)
    _paste_a_token_during_an_outage(day)
    _knock_with_wrong_secrets(day, red=red, alert=alert)
    _fail_with_every_secret_in_the_message(day)

    audit = day.api("/api/audit?limit=1000")["entries"]
    server.stop()
    cli = _cli_outputs(day)
    places = {
        "the log of andon serve": server.log(),
        "the calls to Slack": slack_calls(slack),
        "the audit log": json.dumps(audit),
        "the database": database_dump(day.root / "andon.db"),
        "the CLI": cli,
    }
    assert "[secret]" in places["the log of andon serve"]  # the error was logged, scrubbed
    assert len(audit) >= 8 and len(slack.calls()) >= 10, (len(audit), len(slack.calls()))
    assert not leaks(places)


def _audited(day: Day, action: str, timeout: float = 10.0) -> None:
    eventually(
        lambda: any(e["action"] == action for e in day.api("/api/audit")["entries"]),
        timeout=timeout,
        what=f"{action} in the audit log",
    )


def _finished(day: Day, timeout: float = 30.0) -> None:
    newest = newest_ended(lambda: day.api("/api/deploys")["deploys"], timeout=timeout)
    assert newest["status"] == "succeeded", newest


def _cli_outputs(day: Day) -> str:
    server = day.server
    runs = [
        server.cli("config", "check"),
        server.cli("audit", "--limit", "1000"),
        server.cli("line", "status", "--as", "U0ANA"),
        server.cli("deploy", "nonsense-revision", "--as", "U0ANA"),
        run_cli(
            ["line", "status"],
            env={**server.env, "ANDON_HTTP_PORT": "not-a-port"},
            cwd=server.workdir,
        ),
    ]
    assert "bad environment" in runs[-1].stderr
    assert runs[0].returncode == 0, runs[0].stdout + runs[0].stderr
    return "\n".join(run.stdout + run.stderr for run in runs)


# --- /api/* without the right token --------------------------------------------------------


def _api_routes() -> list[tuple[str, str]]:
    """Every ``/api`` route of the app as ``andon serve`` builds it: a new one is covered.

    The app's own OpenAPI schema lists the routes of its included routers (FastAPI builds
    those lazily); routes hidden from the schema are taken from ``app.routes`` as well."""
    from bot.andon import Andon

    app = http_app.build(Andon.__new__(Andon), slack=None, settings=Settings(andon_api_token="x"))
    found = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    found |= {
        (method, route.path)
        for route in app.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    routes = sorted((method, path) for method, path in found if path.startswith("/api/"))
    assert len(routes) >= 7, routes
    return routes


WRONG = {
    "no header": {},
    "wrong token": {"Authorization": "Bearer SEKRIT-api-guess"},
    "wrong scheme": {"Authorization": f"Basic {SECRETS['ANDON_API_TOKEN']}"},
    "no scheme": {"Authorization": SECRETS["ANDON_API_TOKEN"]},
    "empty bearer": {"Authorization": "Bearer "},
    "empty": {"Authorization": ""},
    "token with a tail": {"Authorization": f"Bearer {SECRETS['ANDON_API_TOKEN']}x"},
}


def test_every_api_route_answers_401_and_nothing_else_without_the_token(day: Day) -> None:
    day.hook("/hooks/ci/generic", generic("a" * 40, "failed", run_id="r1"))  # data to withhold
    day.open_stoppage()
    checked = 0
    for method, path in _api_routes():
        url = day.server.url + path.replace("{stoppage_id}", "1")
        for why, headers in WRONG.items():
            answer = requests.request(method, url, headers=headers, json={}, timeout=10)
            where = f"{method} {path} with {why}: {answer.status_code} {answer.text}"
            assert answer.status_code == 401, where
            assert set(answer.json()) == {"detail"}, where
            assert "stopped" not in answer.text and "aaaaaaa" not in answer.text, where
            checked += 1
        right = {"Authorization": f"Bearer {SECRETS['ANDON_API_TOKEN']}"}
        answer = requests.request(method, url, headers=right, json={}, timeout=10)
        assert answer.status_code != 401, f"{method} {path}: {answer.status_code}"
    assert checked == len(_api_routes()) * len(WRONG)


def test_the_database_password_is_a_secret_too() -> None:
    """A PostgreSQL URL carries its password; logs scrub it as written and as decoded."""
    from bot.settings.environment import Settings

    url = "postgresql://andon:s%40cret-pw@db.internal/andon"
    assert {"s%40cret-pw", "s@cret-pw"} <= set(Settings(andon_database_url=url).secrets())


def test_the_scrubber_masks_a_secret_in_every_spelling_wherever_it_sits() -> None:
    """Inside a longer encoded text a secret's base64 depends on what precedes it: every
    alignment is masked, as are the URL-encoded, JSON-escaped, mrkdwn-escaped and hex forms."""
    scrub = Scrubber([*SECRETS.values(), "p&ss<w>rd"])
    for secret in [*SECRETS.values(), "p&ss<w>rd"]:
        for before in ("", "a", "ab", "abc"):
            text = f"{before}{secret} and what follows"
            raw = text.encode()
            spellings = {  # the text spelled, and the secret spelled the same way inside it
                "as written": (text, secret),
                "URL-encoded": (quote(text, safe=""), quote(secret, safe="")),
                "JSON": (json.dumps(text), json.dumps(secret)[1:-1]),
                "mrkdwn": (_mrkdwn(text), _mrkdwn(secret)),
                "hex": (raw.hex(), secret.encode().hex()),
                "base64": (base64.b64encode(raw).decode(), None),
                "base64url": (base64.urlsafe_b64encode(raw).decode(), None),
            }
            for how, (spelled, inside) in spellings.items():
                masked = scrub(spelled)
                assert "[secret]" in masked, (secret, before, how)
                assert inside is None or inside not in masked, (secret, before, how)
    assert scrub("nothing to hide here") == "nothing to hide here"
    assert not Scrubber(["abc"])  # too short to be a secret: never masks ordinary words


def _mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_every_row_andon_writes_is_scrubbed_on_its_way_into_the_database(database_url: str) -> None:
    """Whatever writes it — a queued message (JSON), an audit row, an error set on a row that was
    already stored — the database never receives a secret Andon knows."""
    token = SECRETS["ANDON_API_TOKEN"]
    database = Database(database_url, scrub=Scrubber(SECRETS.values()))
    migrate.upgrade(database)
    now = datetime.now(UTC)
    try:
        with database.writing() as session:
            message = OutboxMessage(
                created_at=now,
                kind="post",
                lane="channel:C1",
                target="C1",
                next_attempt_at=now,
                payload={"text": f"token {token}", "blocks": [{"text": {"text": token}}]},
            )
            entry = AuditEntry(
                at=now, actor="U1", actor_name="ana", via="slack", action="line.stop", outcome="ok"
            )
            entry.detail = f"stop {base64.b64encode(token.encode()).decode()}"
            session.add_all([message, entry])
        with database.writing() as session:
            stored = session.get(OutboxMessage, message.id)
            assert stored is not None
            stored.last_error = f"Slack said no to {quote(token, safe='')}"
            session.add(stored)
        with database.reading() as session:
            rows = [
                json.dumps(row.model_dump(mode="json"))
                for table in (OutboxMessage, AuditEntry)
                for row in session.exec(select(table))
            ]
    finally:
        database.dispose()
    assert len(rows) == 2 and all("[secret]" in row for row in rows), rows
    assert "Slack said no to [secret]" in rows[0]
    assert not leaks({"the stored rows": "\n".join(rows)})
