"""Outages: Slack down or rate-limiting for minutes, PostgreSQL restarted under load, a deploy host
that does not answer. The line, the gate and the audit log never depend on the outside world; what
the outside world missed is delivered whole, in order, once it is back."""

import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlmodel import select

from core.clock import ManualClock
from storage.tables import OutboxMessage
from tests.ci_payloads import generic, sha, signature
from tests.deploy_line import App, DeployLine, toml_value
from tests.fakes.slack import FakeSlack
from tests.harness import API_TOKEN, CHANNEL, AndonServer
from tests.inprocess import InProcessAndon
from tests.postgres import PostgresCluster, server_binaries
from tests.slack_requests import slash_command
from tests.ssh_hosts import SshFleet
from tests.waiting import eventually

# A campaign: `make campaign` (run by .ci/run after `make test`), not `make test`.
pytestmark = pytest.mark.campaign

T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
OUTAGE_MINUTES = 30
ONCALL = "U0ONCALL"
ZERO = "0" * 40
PATIENCE = 5.0  # seconds to wait for an answer made without Slack


# --- Slack down for half an hour (in-process, the test moves the clock) -----------------------


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """A Slack of this test's own: its outage must not reach other tests."""
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def andon(tmp_path: Path, slack: FakeSlack) -> Iterator[InProcessAndon]:
    app = App(tmp_path / "git")
    config = "\n".join(
        [
            "[slack]",
            f'channel = "{CHANNEL}"',
            "[access]",
            'admins = ["U0MARIA"]',
            "[repo]",
            f"path = {toml_value(str(app.clone))}",
            "[oncall]",
            f'rotation = ["{ONCALL}"]',
            'handoff = "mon 09:00"',
            "[environments.production]",
            f"path = {toml_value(str(tmp_path / 'hosts'))}",
            'hosts = ["local"]',
        ]
    )
    running = InProcessAndon(
        tmp_path / "andon", config=config + "\n", slack=slack, clock=ManualClock(T0)
    )
    running.app = app  # type: ignore[attr-defined]
    running.start()
    yield running
    slack.heal()
    running.stop()


def _unheld(andon: InProcessAndon, call: Any, *args: Any) -> Any:
    """Answers while Slack is down come from the database alone: Slack holds every call until
    the answer is back, so an answer that waited for Slack would not come at all. (Andon's own
    Slack client gives up after 10 s: the test waits half as long for the answer.)"""
    with andon.slack.holding():
        try:
            return call(*args, timeout=PATIENCE)
        except requests.Timeout:
            pytest.fail(f"{getattr(call, '__name__', call)} waited for Slack")


def _slash(andon: InProcessAndon, command: str, text: str, user: str = "U0MARIA") -> str:
    body, kind = slash_command(
        command, text, user=user, name=user.lower(), response_url=andon.slack.response_url()
    )
    answer = _unheld(andon, andon.slack_post, body, kind)
    assert answer.status_code == 200, answer.text
    return answer.json()["text"]


def _hook(andon: InProcessAndon, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-Andon-Signature": signature(body)}
    answer = _unheld(andon, partial(requests.post, andon.url + path, data=body, headers=headers))
    assert answer.status_code in (200, 202), answer.text
    return answer.json()


def _gate(andon: InProcessAndon, subject: str, trailers: dict[str, str]) -> dict[str, Any]:
    new = sha()
    push = {
        "refs": [{"old": ZERO, "new": new, "ref": "refs/heads/main"}],
        "commits": [
            {"sha": new, "subject": subject, "author": "dana", "trailers": trailers, "paths": []}
        ],
        "push_options": [],
        "pusher": "dana",
    }
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    answer = _unheld(
        andon, partial(requests.post, andon.url + "/api/gate", json=push, headers=headers)
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _deploy_succeeded(andon: InProcessAndon) -> bool:
    deploy = _unheld(andon, andon.api, "/api/deploys")["deploys"][0]
    assert deploy["status"] in ("pending", "running", "succeeded"), deploy
    return deploy["status"] == "succeeded"


def _deploy_while_slack_is_down(andon: InProcessAndon, revision: str) -> None:
    """A green build and a ``/deploy``: the deploy runs to its end without Slack."""
    assert _hook(andon, "/hooks/ci/generic", generic(revision, "passed", run_id="g1"))
    assert _slash(andon, "/deploy", "").startswith("Deploying")
    eventually(
        partial(_deploy_succeeded, andon),
        timeout=30,
        what="the deploy to succeed while Slack is down",
    )


def _stop_and_page_while_slack_is_down(andon: InProcessAndon) -> None:
    """The line stopped with four causes, the gate asked twice, a red build and a page: each
    answered from the database alone."""
    assert _slash(andon, "/line", "stop the signup form 500s").startswith("You stopped")
    for n in range(3):
        assert "another cause" in _slash(andon, "/line", f"stop and cause {n}", user=f"U0C{n}")
    line = _unheld(andon, andon.api, "/api/line")
    assert line["state"] == "stopped" and line["stoppage"]["thread_ts"] is None  # not delivered
    refused = _gate(andon, "tweak the footer", {})
    assert refused["allow"] is False and "stopped" in refused["message"]
    assert _gate(andon, "fix signup", {"Line-Fix": "the signup fix"})["allow"] is True
    red = sha()
    assert _hook(andon, "/hooks/ci/generic", generic(red, "failed", run_id="r1"))["stopped_line"]
    page = {"name": "signups_low", "status": "firing", "summary": "no sign-ups for 10 min"}
    assert _hook(andon, "/hooks/alerts/generic", page)["paged"] == 1


def _outbox(andon: InProcessAndon) -> list[OutboxMessage]:
    with andon.andon.database.reading() as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def _keep_trying_through_the_outage(andon: InProcessAndon) -> None:
    """The courier keeps trying as the minutes pass, and keeps every message meanwhile."""
    for _ in range(OUTAGE_MINUTES):
        andon.clock.advance(timedelta(minutes=1))
        andon.andon.courier.deliver_due()
    rows = _outbox(andon)
    assert {r.status for r in rows} <= {"pending", "superseded"}  # only newer updates replace
    tries = max(r.attempts for r in rows)
    assert tries >= 5, "the courier gave up trying during the outage"


def _assert_thread_order(rows: list[OutboxMessage]) -> dict[str, list[OutboxMessage]]:
    """Every message was sent, each lane (a channel, a thread, a DM) in the order it was queued,
    and the last update of each message was delivered. Returns the lanes' sent messages."""
    assert {r.status for r in rows} <= {"sent", "superseded"}, [(r.id, r.status) for r in rows]
    lanes: dict[str, list[OutboxMessage]] = defaultdict(list)
    for row in rows:
        if row.status == "sent" and row.kind in ("post", "reply", "dm"):
            lanes[row.lane].append(row)
    for lane, sent in lanes.items():  # Slack's ts counts up in the order it was sent
        assert [r.ts for r in sent] == sorted(r.ts for r in sent), lane
    assert {"channel:" + CHANNEL, "dm:" + ONCALL} <= set(lanes)
    updates = [r for r in rows if r.kind == "update"]
    newest = {r.parent_id: r for r in updates}  # the last update of each message is delivered
    assert {r.status for r in newest.values()} == {"sent"}
    return lanes


def _assert_stoppage_and_page_shown(
    andon: InProcessAndon, slack: FakeSlack, lanes: dict[str, list[OutboxMessage]]
) -> None:
    posted = [c for c in slack.calls("chat.postMessage")[-sum(map(len, lanes.values())) :]]
    texts = [c.params["text"] for c in posted]
    assert any("Line stopped by" in t and "signup form" in t for t in texts)
    assert any(
        "signups_low" in json.dumps(c.params) for c in posted if c.params["channel"] == "D0ONCALL"
    )
    stoppage = _unheld(andon, andon.api, "/api/line")["stoppage"]
    assert stoppage["thread_ts"] is not None


def test_half_an_hour_of_slack_outage_loses_nothing_and_keeps_every_threads_order(
    andon: InProcessAndon, slack: FakeSlack
) -> None:
    app: App = andon.app  # type: ignore[attr-defined]
    revision = app.commit("first", {"app.py": "print(1)\n"})
    # Slack rate-limits first (429, Retry-After: 2 minutes), then falls over (503) until healed
    slack.fail(429, count=5, retry_after=120)
    slack.fail(503, count=10**9)

    _deploy_while_slack_is_down(andon, revision)
    _stop_and_page_while_slack_is_down(andon)
    _keep_trying_through_the_outage(andon)
    failed_calls = len(slack.calls())

    slack.heal()
    andon.clock.advance(timedelta(minutes=5))  # the longest backoff has passed
    andon.deliver()

    rows = _outbox(andon)
    lanes = _assert_thread_order(rows)
    _assert_stoppage_and_page_shown(andon, slack, lanes)
    print(
        f"Slack outage: {OUTAGE_MINUTES} min simulated, {failed_calls} refused calls, "
        f"{len(rows)} messages queued, {sum(r.status == 'sent' for r in rows)} delivered, "
        f"{sum(r.status == 'superseded' for r in rows)} superseded updates"
    )


# --- PostgreSQL restarted while commands stream in -----------------------------------------------

COMMANDS = 8  # threads, each sending commands one after another
RESTARTS = 2


@pytest.fixture
def own_cluster() -> Iterator[PostgresCluster]:
    """A cluster of this test's own: restarting the session's would cut other tests off."""
    binaries = server_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries (initdb) on this machine")
    cluster = PostgresCluster(binaries).start()
    yield cluster
    cluster.stop()


def _stream(
    server: AndonServer,
    slack: FakeSlack,
    *,
    worker: int,
    answers: dict[str, tuple[int, str]],
    done: threading.Event,
) -> None:
    """One worker's ``/line stop`` commands, one after another until ``done``: each answer (or
    the error that stood for it) is kept under the command's reason."""
    n = 0
    while not done.is_set():
        reason = f"load {worker}-{n}"
        body, kind = slash_command(
            "/line",
            f"stop {reason}",
            user=f"U0L{worker}",
            name=f"l{worker}",
            response_url=slack.response_url(),
        )
        try:
            answer = server.slack_post(body, kind)
            answers[reason] = (answer.status_code, answer.text)
        except requests.RequestException as error:
            answers[reason] = (0, str(error))
        n += 1


def _let_answer(answers: dict[str, tuple[int, str]], more: int) -> None:
    """Let ``more`` commands be answered and audited before the next step."""
    goal = len(_answered(answers)) + more
    eventually(
        lambda: len(_answered(answers)) >= goal,
        timeout=30,
        what=f"{more} more commands answered",
    )


def _assert_every_answer_audited(
    answers: dict[str, tuple[int, str]], entries: list[dict[str, Any]], causes: set[str]
) -> set[str]:
    """Every answered command has its audit row; a refused one failed cleanly and was written
    whole or not at all. Returns the refused commands."""
    ok = _answered(answers)
    refused = {r for r in answers if r not in ok}
    audited = {e["detail"] for e in entries if e["action"] == "line.stop" and e["outcome"] == "ok"}
    assert "after the restarts" in audited  # Andon reconnected
    audited.discard("after the restarts")
    assert ok <= audited, f"answered but not audited: {sorted(ok - audited)[:5]}"
    assert audited - ok <= refused  # an answer lost in the cut may still have committed whole
    for reason in answers:  # whole or nothing: a cause without its audit row is half-written
        assert (reason in audited) == (reason in causes), reason
    for reason in refused:
        status, text = answers[reason]
        assert status in (0, 200, 500, 503) and (status != 200 or "error `" in text), text
    assert len(ok) > 20 and refused, (len(ok), len(refused))
    return refused


def test_postgresql_restarted_under_load_loses_no_audit_row(
    tmp_path: Path, fake_slack: FakeSlack, own_cluster: PostgresCluster
) -> None:
    server = AndonServer(
        tmp_path, database_url=own_cluster.create_database("andon"), slack=fake_slack
    ).start()
    answers: dict[str, tuple[int, str]] = {}
    done = threading.Event()
    stream = partial(_stream, server, fake_slack, answers=answers, done=done)
    workers = [threading.Thread(target=stream, kwargs={"worker": w}) for w in range(COMMANDS)]
    try:
        for w in workers:
            w.start()
        for _ in range(RESTARTS):
            _let_answer(answers, 10)
            own_cluster.restart()
        _let_answer(answers, 10)  # Andon is back: commands are answered again
        done.set()
        for w in workers:
            w.join(timeout=30)
        after = server.cli("line", "stop", "after the restarts", "--as", "ops")
        assert after.returncode == 0, after.stderr
        entries = _all_audit(server)
        causes = _all_causes(server)
    finally:
        done.set()
        server.stop()

    refused = _assert_every_answer_audited(answers, entries, causes)
    print(
        f"PostgreSQL: {RESTARTS} restarts under {COMMANDS} streams, {len(answers)} commands, "
        f"{len(answers) - len(refused)} answered and audited, {len(refused)} failed cleanly, "
        f"{len(entries)} rows checked"
    )


def _answered(answers: dict[str, tuple[int, str]]) -> set[str]:
    """The commands Andon answered with the stoppage they joined."""
    return {
        r for r, (status, text) in list(answers.items()) if status == 200 and "stoppage #" in text
    }


def _all_audit(server: AndonServer) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    before = None
    while True:
        query = "/api/audit?limit=1000" + (f"&before={before}" if before else "")
        page = server.api(query).json()["entries"]
        entries += page
        if len(page) < 1000:
            return entries
        before = page[-1]["id"]


def _all_causes(server: AndonServer) -> set[str]:
    stoppage = server.api("/api/line").json()["stoppage"]
    return {c["text"] for c in stoppage["causes"]}


# --- a deploy host that does not answer --------------------------------------------------------


def test_a_host_that_does_not_answer_stops_the_deploy_before_anything_goes_live(
    tmp_path: Path, fleet: SshFleet, fake_slack: FakeSlack
) -> None:
    fleet.kill(1)  # web2's sshd is down: its port is closed
    team = DeployLine(tmp_path, fleet=fleet, slack=fake_slack).start()
    try:
        team.release("first", {"app.py": "print(1)\n"})
        team.slash("/deploy", "")
        deploy = team.finished()
        assert deploy["status"] == "failed"
        assert [team.live(i) for i in team.hosts] == [None] * 3
        address = fleet.hosts[1].address
        assert address in deploy["error"], deploy["error"]
        assert deploy["hosts"][1]["step"] == "failed"
    finally:
        team.stop()
