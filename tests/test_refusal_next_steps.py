"""Refusals a team really meets, each read as the person who asked reads it: refused before
anything is announced, every condition in the way named at once with what clears it, and the
buttons on the channel's messages only where pressing them can work.

Andon runs in this process (``hosts = ["local"]``: deploys into a directory), driven by signed
slash commands, button presses and webhooks; the fake Slack shows what the channel and the
person saw.
"""

import html
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from core.clock import ManualClock
from tests.ci_payloads import generic, signature
from tests.deploy_line import App, toml_value
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL
from tests.inprocess import InProcessAndon
from tests.slack_requests import block_action, fresh_trigger_id, slash_command, view_submission

T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
ONCALL = "U0ONE"


class Line:
    """An in-process Andon with one environment, ``production``, in a local directory."""

    def __init__(self, root: Path, slack: FakeSlack, database_url: str, **production: Any):
        slack.forget()
        self.slack, self.app, self.srv = slack, App(root / "git"), root / "srv"
        settings = {"path": str(self.srv), "hosts": ["local"], **production}
        config = "\n".join(
            [
                f'[slack]\nchannel = "{CHANNEL}"',
                f'[oncall]\nrotation = ["{ONCALL}"]\nhandoff = "mon 09:00"',
                f"[repo]\npath = {toml_value(str(self.app.clone))}",
                "[environments.production]",
                *(f"{key} = {toml_value(value)}" for key, value in settings.items()),
            ]
        )
        self.andon = InProcessAndon(
            root / "andon",
            config=config + "\n",
            slack=slack,
            clock=ManualClock(T0),
            database_url=database_url,
        ).start()

    def commit(self, message: str) -> str:
        return self.app.commit(message, {"app.py": f"print({message!r})\n"})

    def ci(self, revision: str, status: str) -> None:
        self._hook("/hooks/ci/generic", generic(revision, status, run_id=revision[:8]))

    def alert(self, name: str) -> None:
        self._hook("/hooks/alerts/generic", {"name": name, "status": "firing", "summary": name})

    def answer(
        self, command: str, text: str, *, user: str = "U0MARIA", name: str = "maria"
    ) -> dict[str, Any]:
        """The ephemeral answer to a signed slash command, once what it started has ended."""
        body, kind = slash_command(
            command, text, user=user, name=name, response_url=self.slack.response_url()
        )
        answer = self.andon.slack_post(body, kind)
        assert answer.status_code == 200, answer.text
        self.settle()
        return answer.json()

    def slash(self, command: str, text: str, **who: str) -> str:
        """The answer's text as Slack shows it (``&lt;rev&gt;`` reads ``<rev>``)."""
        return html.unescape(self.answer(command, text, **who)["text"])

    def press(self, action: str, value: str, *, user: str = "U0ANA", name: str = "ana") -> str:
        """Press a button; what the presser is told, once what it started has ended."""
        before = len(self.slack.calls("response_url"))
        body, kind = block_action(
            action, value, user=user, name=name, response_url=self.slack.response_url("press")
        )
        assert self.andon.slack_post(body, kind).status_code == 200
        told = self.slack.wait_for("response_url", count=before + 1)[-1]
        self.settle()
        return html.unescape(told.params["text"])

    def schedule_in_modal(self, when: str) -> dict[str, Any]:
        """Submit the *Schedule the five whys* modal; what Slack is answered (errors or nothing)."""
        values = {"when": {"when": {"type": "plain_text_input", "value": when}}}
        body, kind = view_submission("whys_schedule", values, user="U0ANA", name="ana")
        answer = self.andon.slack_post(body, kind)
        assert answer.status_code == 200, answer.text
        self.andon.deliver()
        return answer.json() if answer.text else {}

    def in_threads(self) -> list[str]:
        """What was replied in any thread of the channel."""
        posts = self.slack.calls("chat.postMessage")
        return [c.params["text"] for c in posts if c.params.get("thread_ts")]

    def ship(self, message: str) -> str:
        """Commit, CI passes, ``/deploy`` it and wait until it runs."""
        revision = self.commit(message)
        self.ci(revision, "passed")
        assert "Deploying" in self.slash("/deploy", f"{revision[:7]} production")
        return revision

    def settle(self) -> None:
        """Every deploy started so far has ended, and Slack has every message."""
        assert self.andon.andon.deployer is not None
        self.andon.andon.deployer.wait(timeout=30)
        self.andon.deliver()

    def deploys(self) -> list[dict[str, Any]]:
        return self.andon.api("/api/deploys")["deploys"]

    def channel(self) -> list[str]:
        posts = self.slack.calls("chat.postMessage")
        return [c.params["text"] for c in posts if c.params["channel"] == CHANNEL]

    def shown(self, message_text: str) -> dict[str, Any]:
        """The newest version (post or update) of the channel message whose text has this."""
        versions = [
            c.params
            for c in self.slack.calls()
            if c.method in ("chat.postMessage", "chat.update")
            and c.params.get("channel") == CHANNEL
            and message_text in c.params.get("text", "")
        ]
        assert versions, f"no channel message with {message_text!r}"
        return versions[-1]

    def _hook(self, path: str, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "X-Andon-Signature": signature(body)}
        answer = requests.post(self.andon.url + path, data=body, headers=headers, timeout=10)
        assert answer.status_code in (200, 202), answer.text
        self.andon.deliver()


def buttons(message: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [
        element
        for block in message.get("blocks", [])
        for element in [*block.get("elements", []), block.get("accessory") or {}]
        if str(element.get("action_id", "")).partition(":")[0] == action
    ]


@pytest.fixture
def make_line(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Any]:
    started: list[Line] = []

    def make(database_url: str | None = None, **production: Any) -> Line:
        url = database_url or f"sqlite:///{tmp_path / 'andon.db'}"
        line = Line(tmp_path, fake_slack, url, **production)
        started.append(line)
        return line

    yield make
    for line in started:
        line.andon.stop()


def test_a_rollback_to_a_revision_production_never_ran_is_refused_before_the_channel_hears_it(
    make_line: Any,
) -> None:
    line = make_line()
    first = line.ship("first")
    second = line.ship("second")
    broken = line.commit("third")
    line.ci(broken, "failed")
    announced = len(line.channel())

    answer = line.slash("/rollback", f"production {broken[:7]}")

    assert answer == (
        f"{broken[:7]} never ran on production, so its hosts do not have its release: a "
        "rollback only goes back to a release production ran. `/rollback production` goes "
        f"back to {first[:7]}, the newest earlier release not marked bad. To ship {broken[:7]} "
        f"itself: `/deploy {broken[:7]} production` once CI passes — {broken[:7]} failed CI "
        f"(tests: failed)."
    )
    assert len(line.channel()) == announced  # no "Rolling back" announced, nothing to take back
    assert len(line.deploys()) == 2
    assert (line.srv / "current" / "REVISION").read_text().strip() == second


def test_nothing_earlier_to_roll_back_to_and_no_ci_result_yet_each_say_what_to_do(
    make_line: Any,
) -> None:
    line = make_line()
    line.ship("first")

    assert line.slash("/rollback", "production") == (
        "production has no earlier release that is not marked bad: it has run nothing else. "
        "`/deploy <rev> production` ships a green revision — a fix or a revert."
    )
    untested = line.commit("second")
    assert line.slash("/deploy", f"{untested[:7]} production") == (
        f"{untested[:7]} has no CI result yet — it can ship once CI passes; "
        f"`/ci {untested[:7]}` shows where it stands."
    )


def test_the_live_revision_is_refused_as_already_live_and_again_deploys_it_on_purpose(
    make_line: Any,
) -> None:
    line = make_line()
    first = line.ship("first")
    second = line.ship("second")

    assert line.slash("/deploy", f"{second[:7]} production") == (
        f"{second[:7]} is already live on production since 14:00 UTC — to deploy it once more "
        f"on purpose (its build and steps run again): `/deploy {second[:7]} production again`."
    )
    assert len(line.deploys()) == 2

    assert "Deploying" in line.slash("/deploy", f"{second[:7]} production again")
    redeploy = line.deploys()[0]
    assert (redeploy["status"], redeploy["revision"]) == ("succeeded", second)
    # a redeploy came from itself: no "Roll back to <itself>"; the deploy it replaced no longer
    # offers to roll back either — only what runs can be rolled back from
    assert buttons(line.shown(f"Deployed {second[:7]} to production"), "deploy_rollback") == []
    first_deploy = line.shown(f"Deployed {first[:7]} to production")
    assert buttons(first_deploy, "deploy_rollback") == []


def test_a_page_lists_a_redeployed_suspect_once_with_one_roll_back_button(
    make_line: Any,
) -> None:
    line = make_line(rollback_stops_line=False)
    first = line.ship("first")
    second = line.ship("second")
    line.slash("/deploy", f"{second[:7]} production again")

    line.alert("checkout_errors")

    page = [
        c.params for c in line.slack.calls("chat.postMessage") if c.params["channel"] == "D0ONE"
    ]
    shown = page[-1]
    suspects = next(b["text"]["text"] for b in shown["blocks"] if "Deployed shortly" in str(b))
    assert suspects.count(f"`{second[:7]}` to production") == 1
    (rollback,) = buttons(shown, "deploy_rollback")
    assert rollback["text"]["text"] == f"Roll back {second[:7]}"
    assert rollback["value"] == f"production {first}"


def test_once_a_rollback_replaced_the_suspect_the_page_no_longer_offers_to_roll_it_back(
    make_line: Any,
) -> None:
    line = make_line(rollback_stops_line=False)
    first = line.ship("first")
    second = line.ship("second")
    line.alert("checkout_errors")
    dm = next(c for c in line.slack.calls("chat.postMessage") if c.params["channel"] == "D0ONE")
    (rollback,) = buttons(dm.params, "deploy_rollback")

    assert "Rolling back production" in line.press("deploy_rollback", rollback["value"])

    assert (line.srv / "current" / "REVISION").read_text().strip() == first
    updates = [c.params for c in line.slack.calls("chat.update") if c.params["channel"] == "D0ONE"]
    assert updates, "the page's DM was not shown again"
    assert buttons(updates[-1], "deploy_rollback") == []
    assert [b["text"]["text"] for b in buttons(updates[-1], "page_ack")] == ["Acknowledge"]
    assert f"`{second[:7]}` to production" in json.dumps(updates[-1]["blocks"])


def test_a_bad_release_on_a_stopped_line_names_both_and_the_one_command_that_ships_it(
    make_line: Any, database_url: str
) -> None:
    line = make_line(database_url)
    first = line.ship("first")
    second = line.ship("second")
    (rollback,) = buttons(line.shown(f"Deployed {second[:7]} to production"), "deploy_rollback")
    told = line.press("deploy_rollback", rollback["value"])  # ana rolls back: the line stops
    assert told.startswith(f"Rolling back production to {first[:7]}")
    assert line.andon.api("/api/line")["state"] == "stopped"
    # the deploy rolled back from no longer offers a rollback that can only fail
    assert buttons(line.shown(f"Deployed {second[:7]} to production"), "deploy_rollback") == []

    answer = line.slash("/deploy", f"{second[:7]} production")

    assert answer == (
        f"{second[:7]} cannot deploy to production — 2 things stand in the way:\n"
        f"• The line is stopped since 14:00 UTC by @ana: production rolled back from "
        f"{second[:7]} to {first[:7]} — deploys wait for `/line start`; if this deploy is the "
        "fix, add `fix: <why>`.\n"
        f"• {second[:7]} is marked bad on production (rolled back by @ana) — to ship it anyway, "
        "add `override`.\n"
        f"All at once: `/deploy {second[:7]} production override fix: <why>`."
    )
    assert len(line.deploys()) == 3

    shipped = line.slash("/deploy", f"{second[:7]} production override fix: the rollback was wrong")
    assert shipped.startswith(f"Deploying {second[:7]} to production")
    said = line.shown(f"Deployed {second[:7]} to production in")
    assert "override: it was marked bad (rolled back by @ana)" in said["text"]
    assert "fix while the line is stopped: the rollback was wrong" in said["text"]
    assert (line.srv / "current" / "REVISION").read_text().strip() == second


def test_a_stop_notice_offers_to_schedule_the_five_whys_and_the_modal_schedules_it(
    make_line: Any,
) -> None:
    line = make_line()
    line.slash("/line", "stop checkout is broken")
    (schedule,) = buttons(line.shown("Line stopped by maria"), "whys_schedule")
    assert schedule["text"]["text"] == "Schedule the five whys"

    trigger = fresh_trigger_id()
    body, kind = block_action(
        "whys_schedule",
        schedule["value"],
        user="U0ANA",
        name="ana",
        trigger_id=trigger,
        response_url=line.slack.response_url("press"),
    )
    assert line.andon.slack_post(body, kind).status_code == 200
    opened = line.slack.wait_for("views.open")[-1].params
    assert opened["trigger_id"] == trigger
    field = next(b for b in opened["view"]["blocks"] if b["type"] == "input")
    assert field["element"]["initial_value"] == "tomorrow 10:00"

    unreadable = line.schedule_in_modal("after lunch")
    assert unreadable["response_action"] == "errors"
    assert unreadable["errors"]["when"].startswith("'after lunch' is not a moment; write e.g.")
    assert buttons(line.shown("Line stopped by maria"), "line_start") == []

    assert line.schedule_in_modal("tomorrow 10:00") == {}
    assert line.in_threads()[-1] == "Five whys scheduled for 2026-11-27 10:00 UTC"
    assert len(buttons(line.shown("Line stopped by maria"), "line_start")) == 1
    assert buttons(line.shown("Line stopped by maria"), "whys_schedule") == []


def test_start_the_line_is_offered_only_once_the_five_whys_rule_allows_it(
    make_line: Any,
) -> None:
    line = make_line()
    line.slash("/line", "stop checkout is broken")
    stop = line.shown("Line stopped by maria")
    assert buttons(stop, "line_start") == []
    assert "`/whys schedule tomorrow 10:00` schedules the meeting" in json.dumps(stop["blocks"])
    status = line.answer("/line", "status")
    assert buttons(status, "line_start") == []
    said = json.dumps(status["blocks"])
    assert "The five whys of stoppage #1 is not done" in said
    assert "`/whys schedule &lt;when&gt;` a meeting" in said

    line.slash("/whys", "schedule in 1h")

    (start,) = buttons(line.shown("Line stopped by maria"), "line_start")
    assert buttons(line.shown("Line stopped by maria"), "whys_schedule") == []
    assert len(buttons(line.answer("/line", "status"), "line_start")) == 1
    assert "You started the line" in line.press("line_start", start["value"])
    assert line.andon.api("/api/line")["state"] == "running"


def _status_audit(andon: InProcessAndon) -> list[tuple[str, str, str, str]]:
    """The audit rows ``/deploy status`` left, oldest first."""
    return [
        (e["action"], e["detail"], e["outcome"], e["message"])
        for e in reversed(andon.api("/api/audit")["entries"])
        if e["action"] in ("deploy.status", "help")
    ]


def test_deploy_status_is_audited_once_validated_an_unknown_environment_never_as_ok(
    make_line: Any,
) -> None:
    line = make_line()

    unknown = line.slash("/deploy", "status nowhere")
    shown = line.slash("/deploy", "status production")

    assert unknown == "I don't know `/deploy status nowhere`."
    assert shown == "production — runs nothing as far as deploys recorded • local — nothing"
    assert _status_audit(line.andon) == [
        ("help", "/deploy status nowhere", "unknown", ""),
        ("deploy.status", "production", "ok", ""),
    ]


def test_deploy_status_without_environments_is_refused_and_audited_as_refused(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    fake_slack.forget()
    andon = InProcessAndon(
        tmp_path,
        config=f'[slack]\nchannel = "{CHANNEL}"\n',
        slack=fake_slack,
        clock=ManualClock(T0),
    ).start()
    try:
        answer = html.unescape(andon.slash("/deploy", "status"))
        audited = _status_audit(andon)
    finally:
        andon.stop()

    said = "No environments are configured — add `[environments.<name>]` to andon.toml."
    assert answer == said
    assert audited == [("deploy.status", "", "refused", said)]
