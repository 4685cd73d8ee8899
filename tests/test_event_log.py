"""The log an operator reads from a running ``andon serve``: one INFO line per event that matters
— a stop, a deploy, a page — as one JSON object per line with ``ANDON_LOG_FORMAT=json``, as a
sentence by default; and SIGHUP, which reads the settings again and says what it took."""

import json
import logging
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.workers import digests
from core.actor import Actor
from core.clock import ManualClock
from core.digest.week import Week
from tests.ci_payloads import generic, post, signature
from tests.deploy_line import App, newest_ended, toml_value
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, WEBHOOK_SECRET, AndonServer, run_cli
from tests.inprocess import InProcessAndon
from tests.slack_requests import block_action, slash_command
from tests.waiting import eventually

ONE, TWO = "U0ONE", "U0TWO"  # on call, and next in the rotation
ADMIN = "U0ADMIN"  # may force the line to start between scenarios
EVENTS = "andon.events"


class JsonLine:
    """``andon serve`` logging JSON, with a repository, a local environment and a rotation."""

    def __init__(self, root: Path, slack: FakeSlack) -> None:
        self.slack = slack
        self.app = App(root / "git")
        self.host = root / "hosts" / "staging"
        config = "\n".join(
            [
                "[slack]",
                f'channel = "{CHANNEL}"',
                "[access]",
                f'admins = ["{ADMIN}"]',
                "[repo]",
                f"path = {toml_value(str(self.app.clone))}",
                "[environments.staging]",
                f"path = {toml_value(str(self.host))}",
                'hosts = ["local"]',
                "[oncall]",
                f'rotation = ["{ONE}"]',
                'repeat = "1h"',
                'ack_timeout = "1h"',
            ]
        )
        self.server = AndonServer(
            root / "andon",
            database_url=f"sqlite:///{root / 'andon.db'}",
            slack=slack,
            config=config + "\n",
        )
        self.server.env["ANDON_LOG_FORMAT"] = "json"

    def slash(self, command: str, text: str, *, user: str = "U0MARIA", name: str = "maria") -> str:
        body, kind = slash_command(
            command, text, user=user, name=name, response_url=self.slack.response_url("e")
        )
        answer = self.server.slack_post(body, kind)
        assert answer.status_code == 200, answer.text
        return answer.json()["text"]

    def running(self) -> None:
        """The next scenario starts on a running line: an admin forces it (logged too)."""
        if self.server.api("/api/line").json()["state"] != "running":
            self.slash("/line", "start force the next scenario", user=ADMIN, name="admin")
            eventually(
                lambda: self.server.api("/api/line").json()["state"] == "running",
                what="the line running again",
            )


@pytest.fixture(scope="module")
def line(tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack) -> Iterator[JsonLine]:
    running = JsonLine(tmp_path_factory.mktemp("event-log"), fake_slack)
    running.server.start()
    yield running
    running.server.stop()


def entries(server: AndonServer) -> list[dict[str, Any]]:
    """Every line of the log, each parsed as the one JSON object it must be."""
    return [json.loads(text) for text in server.log().splitlines() if text.strip()]


def logged(server: AndonServer, event: str, **fields: Any) -> dict[str, Any]:
    """The one line of ``event`` with these fields, once the server has written it."""

    def found() -> list[dict[str, Any]]:
        return [
            entry
            for entry in entries(server)
            if entry.get("event") == event and all(entry.get(k) == v for k, v in fields.items())
        ]

    lines = eventually(found, what=lambda: f"a {event} line {fields} in:\n{server.log()[-3000:]}")
    assert len(lines) == 1, lines
    entry = lines[0]
    assert (entry["level"], entry["logger"]) == ("INFO", EVENTS)
    assert entry["timestamp"].endswith("+00:00") and entry["message"]
    return entry


def test_a_stop_is_one_json_line_with_its_stoppage_and_reason(line: JsonLine) -> None:
    line.running()
    reason = 'checkout 500s after "pay" rollout\nsecond line'
    line.slash("/line", f"stop {reason}")
    stoppage = line.server.api("/api/line").json()["stoppage"]
    entry = logged(line.server, "line.stopped", stoppage_id=stoppage["id"])
    assert entry["reason"] == stoppage["causes"][0]["text"] and entry["by"] == "maria"
    assert entry["reason"].startswith('checkout 500s after "pay" rollout')
    assert entry["message"].startswith(f"line stopped: stoppage #{stoppage['id']} by maria: ")
    assert "\n" not in entry["message"]  # the reason is quoted onto the line
    line.running()
    started = logged(line.server, "line.started", stoppage_id=stoppage["id"])
    assert started["by"] == "admin" and started["forced"] == "the next scenario"


def test_a_deploy_is_one_json_line_when_it_begins_and_one_when_it_ends(line: JsonLine) -> None:
    line.running()
    revision = line.app.commit("first", {"app.py": "print(1)\n"})
    assert post(line.server, "generic", generic(revision, "passed")).status_code == 200
    line.slash("/deploy", "staging")
    deploy = newest_ended(lambda: line.server.api("/api/deploys").json()["deploys"])
    assert deploy["status"] == "succeeded"
    ids = {"deploy_id": deploy["id"], "environment": "staging", "revision": revision}
    begun = logged(line.server, "deploy.begun", **ids)
    finished = logged(line.server, "deploy.finished", **ids)
    assert (begun["kind"], begun["status"], begun["by"]) == ("deploy", "running", "maria")
    assert finished["status"] == "succeeded" and finished["hosts"] == 1
    assert (
        f"deploy #{deploy['id']} of {revision[:7]} to staging finished: succeeded"
        in (finished["message"])
    )


def test_a_page_is_one_json_line_when_opened_and_one_when_acknowledged(line: JsonLine) -> None:
    line.running()
    body = json.dumps({"name": "signups_low", "status": "firing", "summary": "no signups"})
    answer = requests.post(
        f"{line.server.url}/hooks/alerts/generic",
        data=body.encode(),
        headers={"Content-Type": "application/json", "X-Andon-Signature": signature(body.encode())},
        timeout=10,
    )
    assert answer.status_code == 200 and answer.json()["paged"] == 1, answer.text
    page = line.server.api("/api/pages").json()["pages"][0]
    assert logged(line.server, "page.opened", page_id=page["id"])["source"] == "generic"
    stopped = line.server.api("/api/line").json()["stoppage"]
    assert "signups_low" in logged(line.server, "line.stopped", stoppage_id=stopped["id"])["reason"]
    pressed, kind = block_action(
        "page_ack", str(page["id"]), user=ONE, name="one", response_url=line.slack.response_url("a")
    )
    assert line.server.slack_post(pressed, kind).status_code == 200
    acked = logged(line.server, "page.acknowledged", page_id=page["id"])
    assert acked["by"] == "one" and acked["alert"] == "signups_low"


def test_every_line_of_the_json_log_is_one_object_and_refusals_are_events(line: JsonLine) -> None:
    answer = requests.post(
        f"{line.server.url}/hooks/alerts/generic",
        data=b"{}",
        headers={"Content-Type": "application/json", "Authorization": "Bearer wrong-one"},
        timeout=10,
    )
    assert answer.status_code == 401
    refused = logged(line.server, "webhook.refused", provider="generic", status=401)
    assert refused["webhook"] == "alerts" and "signature or token" in refused["reason"]
    assert all({"timestamp", "level", "logger", "message"} <= set(e) for e in entries(line.server))


def test_an_unknown_log_format_stops_andon_at_start_naming_the_variable(tmp_path: Path) -> None:
    server = AndonServer(tmp_path, database_url=f"sqlite:///{tmp_path / 'a.db'}", slack=None)
    ran = run_cli(["serve"], env={**server.env, "ANDON_LOG_FORMAT": "xml"}, cwd=tmp_path)
    assert ran.returncode == 2
    assert "ANDON_LOG_FORMAT: 'xml' is not a log format: text or json" in ran.stderr


def test_sighup_takes_a_new_webhook_secret_and_names_what_waits_for_a_restart(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    secret = tmp_path / "webhook-secret"
    secret.write_text(WEBHOOK_SECRET + "\n")
    server = AndonServer(
        tmp_path / "andon", database_url=f"sqlite:///{tmp_path / 'a.db'}", slack=None
    )
    del server.env["ANDON_WEBHOOK_SECRET"]
    server.env["ANDON_WEBHOOK_SECRET_FILE"] = str(secret)
    server.start()
    rotated = "rotated-webhook-secret-3f9d"
    try:
        alert = json.dumps({"name": "disk_full", "status": "firing"}).encode()

        def sent(key: str) -> int:
            return requests.post(
                f"{server.url}/hooks/alerts/generic",
                data=alert,
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
                timeout=10,
            ).status_code

        assert sent(WEBHOOK_SECRET) == 200
        secret.write_text(rotated + "\n")
        config = server.workdir / "andon.toml"
        config.write_text(config.read_text() + '[line]\nnag = "3h"\n')
        server.process.send_signal(signal.SIGHUP)
        said = eventually(
            lambda: [t for t in server.log().splitlines() if "SIGHUP" in t],
            what=lambda: f"the SIGHUP line in:\n{server.log()}",
        )
        assert " INFO andon: SIGHUP: read the environment, .env, the secret files and " in said[0]
        assert "applied: ANDON_WEBHOOK_SECRET; takes a restart: andon.toml [line]" in said[0]
        assert (sent(rotated), sent(WEBHOOK_SECRET)) == (200, 401)
        refusal = eventually(
            lambda: [t for t in server.log().splitlines() if "webhook refused" in t],
            what=lambda: f"a refusal in:\n{server.log()}",
        )
        assert refusal[0].endswith(
            " INFO andon.events: webhook refused: alerts/generic 401 "
            "missing or wrong webhook signature or token"
        )
    finally:
        server.stop()
    assert rotated not in server.log()


def test_an_escalation_and_the_digest_are_one_line_each(
    tmp_path: Path, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    fake_slack.forget()
    config = (
        f'[slack]\nchannel = "{CHANNEL}"\n'
        f'[oncall]\nrotation = ["{ONE}", "{TWO}"]\nrepeat = "2m"\nack_timeout = "5m"\n'
    )
    t0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
    andon = InProcessAndon(tmp_path, config=config, slack=fake_slack, clock=ManualClock(t0))
    caplog.set_level(logging.INFO, logger=EVENTS)
    andon.start()
    try:
        body = json.dumps({"name": "queue_stuck", "status": "firing"}).encode()
        answer = requests.post(
            f"{andon.url}/hooks/alerts/generic",
            data=body,
            headers={"Content-Type": "application/json", "X-Andon-Signature": signature(body)},
            timeout=10,
        )
        assert answer.status_code == 200 and answer.json()["paged"] == 1, answer.text
        page = andon.api("/api/pages")["pages"][0]
        andon.clock.advance(timedelta(minutes=6))
        andon.andon.tick_pages()
        week = Week.containing(andon.clock.now(), "UTC")
        digests.post(andon.andon, week=week, actor=Actor("ops", "ops", "cli"))
        andon.deliver()
    finally:
        andon.stop()
    events = [vars(r) for r in caplog.records if r.name == EVENTS and r.levelno == logging.INFO]
    escalated = [e for e in events if e["event"] == "page.escalated"]
    following = ({ONE, TWO} - {page["oncall"]}).pop()  # the next person in the rotation
    assert [(e["page_id"], e["to"]) for e in escalated] == [(page["id"], following)]
    assert escalated[0]["message"] == f"page #{page['id']} escalated to {following}"
    posted = [e for e in events if e["event"] == "digest.posted"]
    assert [e["week"] for e in posted] == [week.label]
