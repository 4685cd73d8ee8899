"""The Home tab through Slack: signed ``app_home_opened`` events to a running ``andon serve``, and
what the fake Slack receives through ``views.publish`` — the line and its causes, each
environment's deploys, who is on call, the open pages, the viewer's own action items with Done
buttons; republished when the line stops and when Done is pressed; inside Slack's limits for a
Home whatever the data."""

import itertools
import json
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from slack_sdk.models.blocks import Block

from storage.database import Database
from storage.tables import ActionItem, Stoppage
from tests.ci_payloads import generic, post, signature
from tests.deploy_line import App, newest_ended, toml_value
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, AndonServer
from tests.slack_requests import slash_command

ONE, TWO = "U0ONE", "U0TWO"
MARIA, JOE = "U0MARIA", "U0JOE"
SETUP = "U0SETUP"  # an admin: each scenario starts on a running line
_events = itertools.count(1)


def _config(**sections: dict[str, Any]) -> str:
    lines = [
        "[slack]",
        f'channel = "{CHANNEL}"',
        "[access]",
        f'admins = ["setup", "{SETUP}"]',
        "[oncall]",
        f'rotation = ["{ONE}", "{TWO}"]',
    ]
    for name, table in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


def _serve(workdir: Path, slack: FakeSlack, *, database_url: str, config: str) -> AndonServer:
    server = AndonServer(workdir, database_url=database_url, slack=slack, config=config)
    server.env["ANDON_TICK_SECONDS"] = "0.5"  # a failed publish is tried again within a tick
    return server.start()


class Line:
    """``andon serve`` with a repository and two environments deploying to local folders."""

    def __init__(self, root: Path, slack: FakeSlack) -> None:
        self.slack = slack
        self.app = App(root / "git")
        self.database_url = f"sqlite:///{root / 'andon.db'}"
        environments = {
            f"environments.{name}": {"path": str(root / "hosts" / name), "hosts": ["local"]}
            for name in ("staging", "production")
        }
        config = _config(repo={"path": str(self.app.clone)}, **environments)
        self.server = _serve(root / "andon", slack, database_url=self.database_url, config=config)

    def release(self, number: int) -> str:
        revision = self.app.commit(f"change {number}", {"app.py": f"print({number})\n"})
        payload = generic(revision, "passed", run_id=revision[:8])
        assert post(self.server, "generic", payload).status_code == 200
        return revision

    def deploy(self, revision: str, environment: str) -> None:
        """``/deploy <revision> <environment>``, waited for until it has ended."""
        before = len(self.server.api("/api/deploys").json()["deploys"])
        _line(self.server, f"{revision} {environment}", command="/deploy", user="U0OPS", name="ops")
        newest = newest_ended(
            lambda: self.server.api("/api/deploys").json()["deploys"], count=before + 1, timeout=60
        )
        assert newest["status"] == "succeeded", newest


@pytest.fixture(scope="module")
def line(tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack) -> Iterator[Line]:
    running = Line(tmp_path_factory.mktemp("home"), fake_slack)
    yield running
    running.server.stop()


@pytest.fixture(autouse=True)
def quiet(fake_slack: FakeSlack) -> None:
    fake_slack.forget()


# --- Slack's requests --------------------------------------------------------------------------


def _open_home(server: AndonServer, user: str, *, tab: str = "home") -> None:
    envelope = {
        "token": "legacy-verification-token",
        "team_id": "T0ANDON01",
        "api_app_id": "A0ANDON01",
        "type": "event_callback",
        "event_id": f"Ev0HOME{next(_events):05d}{secrets.token_hex(3)}",
        "event_time": int(time.time()),
        "event": {
            "type": "app_home_opened",
            "user": user,
            "channel": "D" + user[1:],
            "tab": tab,
            "event_ts": f"{time.time():.6f}",
        },
    }
    answer = server.slack_post(json.dumps(envelope).encode(), "application/json")
    assert answer.status_code == 200, answer.text


def _press_on_home(server: AndonServer, button: dict[str, Any], *, user: str, name: str) -> None:
    """A button on the Home pressed: a ``block_actions`` from a view, with no ``response_url``."""
    payload = {
        "type": "block_actions",
        "team": {"id": "T0ANDON01", "domain": "andon-test"},
        "user": {"id": user, "username": name, "name": name, "team_id": "T0ANDON01"},
        "api_app_id": "A0ANDON01",
        "token": "legacy-verification-token",
        "trigger_id": f"1337.{next(_events)}.{secrets.token_hex(4)}",
        "container": {"type": "view", "view_id": f"V0HOME{user}"},
        "view": {"id": f"V0HOME{user}", "type": "home", "callback_id": "andon_home"},
        "actions": [{**button, "block_id": "b1", "action_ts": f"{time.time():.6f}"}],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    answer = server.slack_post(body, "application/x-www-form-urlencoded")
    assert answer.status_code == 200, answer.text


def _line(
    server: AndonServer,
    text: str,
    *,
    command: str = "/line",
    user: str = MARIA,
    name: str = "maria",
) -> None:
    body, kind = slash_command(
        command, text, user=user, name=name, response_url=server.slack.response_url("line")
    )
    assert server.slack_post(body, kind).status_code == 200


def _reset(server: AndonServer) -> None:
    _line(server, "start force the next scenario", user=SETUP, name="setup")


def _alert(server: AndonServer, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    answer = requests.post(
        f"{server.url}/hooks/alerts/generic",
        data=body,
        headers={"Content-Type": "application/json", "X-Andon-Signature": signature(body)},
        timeout=10,
    )
    assert answer.status_code in (200, 202), answer.text


# --- what Slack received -----------------------------------------------------------------------


def _home(
    slack: FakeSlack, user: str, shows: str = "", *, without: str | None = None
) -> list[dict[str, Any]]:
    """The blocks of the newest Home published for ``user`` that shows ``shows``."""

    def matches(params: dict[str, Any]) -> bool:
        shown = json.dumps(params.get("view", {}))
        return (
            params.get("user_id") == user
            and shows in shown
            and (without is None or without not in shown)
        )

    view = slack.wait_for("views.publish", matches, timeout=15)[-1].params["view"]
    return _valid(view)


def _valid(view: dict[str, Any]) -> list[dict[str, Any]]:
    """What real Slack checks of a Home: its type, ≤ 100 blocks, each block as Block Kit says,
    a section's text ≤ 3,000 characters, no two buttons with one action_id."""
    blocks = view["blocks"]
    assert view["type"] == "home"
    assert 0 < len(blocks) <= 100
    for block in blocks:
        Block.parse(block).validate_json()
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
    ids = [element["action_id"] for element in _elements(blocks)]
    assert len(ids) == len(set(ids)), ids
    return blocks


def _elements(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for block in blocks:
        if "accessory" in block:
            found.append(block["accessory"])
        if block["type"] == "actions":
            found += block["elements"]
    return found


def _text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(json.dumps(block, ensure_ascii=False) for block in blocks)


def _section(blocks: list[dict[str, Any]], starting: str) -> str:
    return next(
        b["text"]["text"]
        for b in blocks
        if b["type"] == "section" and b["text"]["text"].startswith(starting)
    )


def _seed_items(database_url: str, owner: str, texts: list[str]) -> list[int]:
    """Action items an earlier, closed stoppage left to ``owner`` (five levels per stoppage), as
    a database with some history holds them."""
    database = Database(database_url)
    now = datetime.now(UTC)
    ids = []
    with database.writing() as session:
        for start in range(0, len(texts), 5):
            stoppage = Stoppage(
                state="closed",
                opened_at=now,
                opened_by="setup",
                opened_by_name="setup",
                opened_via="cli",
                closed_at=now,
                closed_by="setup",
            )
            session.add(stoppage)
            session.flush()
            assert stoppage.id is not None
            for level, text in enumerate(texts[start : start + 5], start=1):
                row = ActionItem(
                    stoppage_id=stoppage.id,
                    level=level,
                    text=text,
                    owner=owner,
                    owner_name=owner.lower(),
                    due=date(2026, 12, 1),
                    category="tests/CI",
                    created_by=owner,
                    created_at=now,
                )
                session.add(row)
                session.flush()
                assert row.id is not None
                ids.append(row.id)
    database.dispose()
    return ids


# --- scenarios ---------------------------------------------------------------------------------


def test_opening_the_home_shows_the_running_line_and_who_is_on_call(line: Line) -> None:
    _reset(line.server)
    _open_home(line.server, "U0ANA", tab="messages")  # the Messages tab: no Home to publish
    _open_home(line.server, "U0ANA")
    blocks = _home(line.slack, "U0ANA", "running")

    state = _section(blocks, ":large_green_circle:")
    assert "The line has been *running* since" in state
    oncall = _section(blocks, ":pager: Now:")
    assert {f"<@{ONE}>", f"<@{TWO}>"} <= {word.strip() for word in oncall.split()}
    assert "Next:" in oncall
    assert "staging" in _text(blocks) and "production" in _text(blocks)
    assert "You have no open action items." in _text(blocks)
    assert len(line.slack.calls("views.publish")) == 1  # one Home, for the Home tab only


def test_the_home_shows_the_last_three_deploys_of_each_environment_and_the_open_pages(
    line: Line,
) -> None:
    _reset(line.server)
    revisions = [line.release(number) for number in range(1, 5)]
    for revision in revisions:
        line.deploy(revision, "staging")
    line.deploy(revisions[0], "production")
    _alert(
        line.server,
        {
            "name": "signups_low",
            "status": "firing",
            "severity": "critical",
            "summary": "sign-ups fell to 0 & <!here> look",
            "fingerprint": "home-1",
        },
    )
    _open_home(line.server, MARIA)
    blocks = _home(line.slack, MARIA, "signups_low")

    staging = _section(blocks, "*staging*")
    assert [r[:7] in staging for r in revisions] == [False, True, True, True]
    assert staging.count(":white_check_mark: succeeded") == 3 and "<@U0OPS>" in staging
    production = _section(blocks, "*production*")
    assert revisions[0][:7] in production and revisions[3][:7] not in production
    assert "`GET /api/deploys`" in _text(blocks)

    page = _section(blocks, ":rotating_light: *signups_low* (critical)")
    assert "not acknowledged" in page
    assert "sign-ups fell to 0 &amp; @here look" in page and "<!here>" not in page
    assert f"paged <@{ONE}>" in page or f"paged <@{TWO}>" in page
    stopped = _section(blocks, ":red_circle: The line has been *stopped*")
    assert "stoppage #" in stopped
    assert "signups_low" in _section(blocks, "*Causes*")

    _alert(line.server, {"name": "signups_low", "status": "resolved", "fingerprint": "home-1"})


def test_a_home_slack_could_not_take_is_published_again(line: Line) -> None:
    _reset(line.server)
    line.slack.fail(503, methods={"views.publish"}, where=lambda p: p.get("user_id") == "U0BEA")
    _open_home(line.server, "U0BEA")
    published = line.slack.wait_for(
        "views.publish", lambda p: p.get("user_id") == "U0BEA", count=2, timeout=15
    )
    _valid(published[-1].params["view"])
    assert "running" in json.dumps(published[-1].params["view"])


def test_a_hundred_action_items_and_long_causes_still_fit_a_home(line: Line) -> None:
    _reset(line.server)
    many = "U0MANY"
    _seed_items(line.database_url, many, [f"investment {n}: " + "x" * 400 for n in range(105)])
    # as Slack sends what was typed: "&", "<" and ">" arrive escaped
    _line(line.server, "stop " + "the load balancer &amp; &lt;b&gt;certs&lt;/b&gt; expired " * 48)
    for number in range(6):
        _line(line.server, f"stop cause {number}: " + "y" * 1900, user="U0OPS", name="ops")
    _open_home(line.server, many)
    blocks = _home(line.slack, many, "more causes")

    shown = _text(blocks)
    assert "… and 90 more: `/actions` lists them all." in shown
    assert "the load balancer &amp; &lt;b&gt;certs&lt;/b&gt; expired" in shown
    assert "<b>" not in shown
    assert len([e for e in _elements(blocks) if e["text"]["text"] == "Done"]) == 15


def test_the_home_is_republished_on_a_stop_and_done_takes_an_item_off_it(
    tmp_path: Path, fake_slack: FakeSlack, database_url: str
) -> None:
    server = _serve(tmp_path, fake_slack, database_url=database_url, config=_config())
    try:
        mine = _seed_items(database_url, MARIA, ["write the runbook", "add a payments fake"])
        _seed_items(database_url, JOE, ["joe's own investment"])
        _open_home(server, MARIA)
        blocks = _home(fake_slack, MARIA, "running")
        assert "write the runbook" in _text(blocks) and "add a payments fake" in _text(blocks)
        assert "joe's own investment" not in _text(blocks)
        buttons = [e for e in _elements(blocks) if e["text"]["text"] == "Done"]
        assert [b["action_id"] for b in buttons] == ["action_done", "action_done:1"]
        assert [b["value"] for b in buttons] == [str(i) for i in mine]

        fake_slack.forget()
        _line(server, "stop sign-up is broken & <!channel> look", user=JOE, name="joe")
        blocks = _home(fake_slack, MARIA, "stopped")
        causes = _section(blocks, "*Causes*")
        assert "sign-up is broken &amp; @channel look" in causes and f"<@{JOE}>" in causes
        assert "<!channel>" not in _text(blocks)

        fake_slack.forget()
        _press_on_home(server, buttons[1], user=MARIA, name="maria")
        blocks = _home(fake_slack, MARIA, "write the runbook", without="add a payments fake")
        assert [e["action_id"] for e in _elements(blocks)] == ["action_done"]
        assert "stopped" in _section(blocks, ":red_circle:")
        done = server.api("/api/actions").json()["actions"]
        assert {a["text"]: a["status"] for a in done}["add a payments fake"] == "done"
    finally:
        server.stop()
