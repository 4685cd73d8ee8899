"""Nobody in who should not be: every slash command, every button and the investments form,
pressed by a deployer, another deployer, an admin and anyone else, through signed requests to
``/slack/events`` — and the CLI's ``--as`` where the CLI has the command. The refusals are
asserted in the words people read.

The table is the rule book: a command or a button that is not in it fails the test, so a new
one is walked through every role before it ships. The rules it holds (docs/configuration.md,
``[access]``):
``/deploy``, ``/rollback``, the Roll back and Approve buttons need a deployer, and Approve someone
other than the requester; ``/line start force`` needs an admin; an admin is not a deployer unless
listed as one; everything else — stopping the line above all, and ``/flag`` — is anyone's. With
empty lists everyone may deploy and nobody may force.
"""

import json
import os
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.andon import ThreadPlace
from bot.cli import command_line as cli
from bot.intents.pressed import PRESSES, ActionId
from bot.intents.typed import COMMANDS, Intent, RecordInvestments, parse
from bot.slack.whys_form import CALLBACK, FIELD
from core.actor import Actor
from core.clock import ManualClock
from tests.ci_payloads import generic, signature
from tests.deploy_line import UNFINISHED, App, toml_value
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, andon_env, run_cli
from tests.inprocess import InProcessAndon
from tests.slack_requests import block_action, slash_command, view_submission
from tests.waiting import eventually

# A campaign: `make campaign` (run by .ci/run after `make test`), not `make test`.
pytestmark = pytest.mark.campaign

T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)

# Who presses: Slack user IDs, distinct per role; the requester of the deploy to approve is
# "deployer", so "deployer2" is the one who may approve it.
ROLES = {
    "deployer": "U0DEPLOY",
    "deployer2": "U0DEPLOY2",
    "admin": "U0ADMIN",
    "other": "U0OTHER",
}
NOT_DEPLOYER = (
    "may not deploy: only the people in `[access] deployers` may — ask one of them, or whoever "
    "runs Andon to add you."
)
NOT_ADMIN = "Only admins (`[access] admins`) may force the line to start."
REQUESTER = "Someone other than the requester must approve a deploy."
PERMISSION = (NOT_DEPLOYER, NOT_ADMIN, REQUESTER)
FORM = "form"  # the investments form's submission: a modal, not a button


@dataclass(frozen=True)
class Case:
    """One thing a person can do; ``refused`` is what each role that may not do it reads."""

    front: str  # a slash command, an ActionId or FORM
    text: str  # the command's text or the button's value; {deploy} {page} {item} {stoppage}
    refused: dict[str, str] = field(default_factory=dict)
    said: str = ""  # what the first role allowed reads (a part of it)
    cli: tuple[str, ...] = ()  # the same through ``andon … --as <id>``, if the CLI has it
    needs: str = ""  # a step taken before the walk reaches this case


DEPLOYERS_ONLY = {"admin": NOT_DEPLOYER, "other": NOT_DEPLOYER}

# In order: each case leaves the line as the next one needs it.
TABLE = (
    Case("/deploy", "", DEPLOYERS_ONLY, "waits for approval", cli=("deploy",)),
    Case(
        ActionId.DEPLOY_APPROVE,
        "{deploy}",
        {"deployer": REQUESTER, **DEPLOYERS_ONLY},
        "Deploying",
    ),
    Case(ActionId.DEPLOY_ROLLBACK, "production", DEPLOYERS_ONLY, "Rolling back"),
    Case("/rollback", "", DEPLOYERS_ONLY, "Rolling back", cli=("rollback",)),
    Case("/deploy", "status", {}, "production", cli=("deploy", "status")),
    Case("/deploy", "resume", {}, "Nothing to resume", cli=("deploy", "resume")),
    Case("/ci", "{revision}", {}, "green", cli=("ci", "status", "{revision}")),
    Case("/line", "status", {}, "The line has been", cli=("line", "status")),
    Case("/line", "stop walking every role", {}, "stopped"),
    Case(
        "/line",
        "start force the walk goes on",
        {"deployer": NOT_ADMIN, "deployer2": NOT_ADMIN, "other": NOT_ADMIN},
        "You started the line",
        cli=("line", "start", "--force", "the walk goes on"),
    ),
    Case("/line", "stop for the five whys", {}, "You stopped the line"),
    Case("/whys", "", {}, "Five whys of stoppage", cli=("whys", "status")),
    Case("/whys", "severity minor", {}, "is minor", cli=("whys", "severity", "minor")),
    Case(ActionId.WHYS_FORM, "{stoppage}", {}, "Five whys #", needs="whys answered"),
    Case(ActionId.WHYS_SCHEDULE, "{stoppage}", {}, "Five whys #"),
    Case(FORM, "{stoppage}", {}, ""),
    Case("/actions", "", {}, "action items"),
    Case("/actions", "all", {}, "Open action items: 1"),
    Case(ActionId.ACTION_DONE, "{item}", {}, "done"),
    Case("/whys", "schedule in 2h", {}, "scheduled for", cli=("whys", "schedule", "in", "2h")),
    Case(ActionId.LINE_START, "", {}, "You started the line"),
    Case("/line", "start", {}, "already running", cli=("line", "start")),
    Case("/line", "help", {}, "How to use Andon"),
    Case("/oncall", "", {}, "On call now"),
    Case("/oncall", "override <@U0OTHER> until in 1h", {}, "is on call until"),
    Case("/checks", "", {}, "No checks configured"),
    Case(ActionId.PAGE_ACK, "{page}", {}, "You acknowledged page"),
    Case(ActionId.PAGE_RESOLVE, "{page}", {}, "is resolved"),
    Case("/digest", "", {}, "Weekly digest", cli=("digest",)),
    Case("/digest", "last", {}, "Weekly digest"),
    Case("/flag", "create walked The walk's flag", {}, "created", cli=("flag", "create", "cli")),
    Case("/flag", "ramp walked 10%", {}, "ramped", cli=("flag", "ramp", "cli", "20%")),
    Case("/flag", "off walked", {}, "turned walked off", cli=("flag", "off", "cli")),
    Case("/flag", "ramp walked 50%", {}, "ramped"),
    Case(ActionId.FLAG_OFF, "production walked", {}, "turned walked off"),
    Case("/flag", "list", {}, "feature flag", cli=("flag", "list")),
    Case("/flag", "show walked", {}, "Flag walked", cli=("flag", "show", "walked")),
)


def _intent(case: Case) -> Intent | None:
    value = case.text.format(deploy=1, page=1, item=1, stoppage=1, revision="3f2a9c1")
    if case.front == FORM:
        return RecordInvestments(value, ())
    if case.front in COMMANDS:
        return parse(case.front, value, environments=("production",))
    meaning = PRESSES.get(ActionId(case.front)) if case.front in set(ActionId) else None
    return meaning(value) if meaning else None


def test_the_table_walks_every_command_button_and_intent() -> None:
    """A new slash command, button or intent fails here until it has its row (and its rule)."""
    fronts = {case.front for case in TABLE}
    assert set(COMMANDS) <= fronts, f"not walked: {set(COMMANDS) - fronts}"
    assert set(ActionId) <= fronts, f"not walked: {set(ActionId) - fronts}"
    assert FORM in fronts
    walked = {type(_intent(case)) for case in TABLE}
    assert set(typing.get_args(Intent)) <= walked, set(typing.get_args(Intent)) - walked
    for case in TABLE:
        assert set(case.refused) <= set(ROLES), case


# --- the team's line ---------------------------------------------------------------------------


def _config(app: App, root: Path, *, access: str, approval: bool) -> str:
    return "\n".join(
        [
            "[slack]",
            f'channel = "{CHANNEL}"',
            "[access]",
            access,
            "[repo]",
            f"path = {toml_value(str(app.clone))}",
            "[environments.production]",
            f"path = {toml_value(str(root / 'hosts'))}",
            'hosts = ["local"]',
            f"require_approval = {toml_value(approval)}",
            "[oncall]",
            f'rotation = ["{ROLES["other"]}"]',
        ]
    )


RESTRICTED = (
    f'deployers = ["{ROLES["deployer"]}", "{ROLES["deployer2"]}"]\nadmins = ["{ROLES["admin"]}"]'
)


class Team:
    """A running Andon (in this process) and the ways its people reach it."""

    def __init__(self, root: Path, slack: FakeSlack, *, access: str) -> None:
        slack.forget()
        self.slack = slack
        self.app = App(root / "git")
        config = _config(self.app, root, access=access, approval=True)
        self.andon = InProcessAndon(
            root / "andon", config=config, slack=slack, clock=ManualClock(T0)
        ).start()
        self._presses = 0

    def stop(self) -> None:
        self.andon.stop()

    def release(self, message: str) -> str:
        revision = self.app.commit(message, {"app.py": f"print({message!r})\n"})
        body = json.dumps(generic(revision, "passed", run_id=revision[:8])).encode()
        self._hook("/hooks/ci/generic", body)
        return revision

    def page(self, name: str) -> int:
        body = json.dumps({"name": name, "status": "firing", "summary": f"{name} is off"}).encode()
        self._hook("/hooks/alerts/generic", body)
        return self.andon.api("/api/pages")["pages"][0]["id"]

    def _hook(self, path: str, body: bytes) -> None:
        headers = {"Content-Type": "application/json", "X-Andon-Signature": signature(body)}
        answer = requests.post(self.andon.url + path, data=body, headers=headers, timeout=10)
        assert answer.status_code in (200, 202), answer.text

    def slash(self, command: str, text: str, user: str) -> str:
        body, kind = slash_command(
            command, text, user=user, name=user.lower(), response_url=self.slack.response_url()
        )
        answer = self.andon.slack_post(body, kind)
        assert answer.status_code == 200, answer.text
        return answer.json()["text"]

    def press(self, action: str, value: str, user: str) -> str:
        """A button; the answer comes through ``response_url`` (or, for the form, a modal)."""
        self._presses += 1
        tag = str(self._presses)
        modals = len(self.slack.calls("views.open"))
        url = self.slack.response_url() + f"?press={tag}"
        body, kind = block_action(action, value, user=user, name=user.lower(), response_url=url)
        assert self.andon.slack_post(body, kind).status_code == 200
        if action in (ActionId.WHYS_FORM, ActionId.WHYS_SCHEDULE):  # a modal opens
            opened = self.slack.wait_for("views.open", count=modals + 1)[-1]
            return opened.params["view"]["title"]["text"]
        return self.slack.wait_for("response_url", lambda p: p.get("press") == tag)[0].params[
            "text"
        ]

    def submit_form(self, stoppage: str, user: str) -> str:
        owner = ROLES["other"]
        written = f"add a smoke test for the walk <@{owner}> due 2026-12-31 #tests"
        values = {"level_1": {FIELD: {"type": "plain_text_input", "value": written}}}
        body, kind = view_submission(
            CALLBACK, values, user=user, name=user.lower(), private_metadata=stoppage
        )
        answer = self.andon.slack_post(body, kind)
        assert answer.status_code == 200, answer.text
        return answer.text

    def settle(self) -> None:
        """Every deploy that runs has ended, every message is delivered."""
        eventually(
            lambda: not any(d["status"] in UNFINISHED[1:] for d in self.deploys()),
            timeout=30,
            what=lambda: f"every deploy to end: {self.deploys()[:2]}",
        )
        self.andon.deliver()

    def deploys(self) -> list[dict[str, Any]]:
        return self.andon.api("/api/deploys")["deploys"]

    def waiting(self, requester: str) -> int:
        return next(
            d["id"]
            for d in self.deploys()
            if d["status"] == "awaiting_approval" and d["requested_by"]["id"] == requester
        )


@pytest.fixture
def team(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Team]:
    running = Team(tmp_path, fake_slack, access=RESTRICTED)
    yield running
    running.stop()


def _ship(team: Team, message: str) -> str:
    """A release live on production: requested by deployer2, approved by deployer."""
    revision = team.release(message)
    assert "waits for approval" in team.slash("/deploy", "", ROLES["deployer2"])
    team.press(ActionId.DEPLOY_APPROVE, str(team.waiting(ROLES["deployer2"])), ROLES["deployer"])
    team.settle()
    assert team.deploys()[0]["status"] == "succeeded", team.deploys()[0]
    return revision


def test_every_command_and_button_through_every_role_in_slack(team: Team) -> None:
    first = _ship(team, "first")
    for release in ("second", "third", "fourth"):  # four rollbacks below: three to go back to
        _ship(team, release)
    team.release("fifth")  # green and not live: what the walk's `/deploy` asks to ship
    page = team.page("signups_low")
    team.slash("/line", "start force the page is handled", ROLES["admin"])  # the page stopped it
    walked = 0
    for case in TABLE:
        allowed = [role for role in ROLES if role not in case.refused]
        if case.needs == "whys answered":
            _answer_whys(team)
        for position, role in enumerate([*case.refused, *allowed]):
            values = {
                "deploy": _waiting_or_none(team),
                "page": page,
                "item": _first_item(team),
                "stoppage": _stoppage(team),
                "revision": first[:7],
            }
            said = _do(team, case, case.text.format(**values), ROLES[role])
            walked += 1
            where = f"{case.front} {case.text!r} by {role}: {said!r}"
            if role in case.refused:
                assert case.refused[role] in said, where
                continue
            assert not any(refusal in said for refusal in PERMISSION), where
            if position == len(case.refused):
                assert case.said.lower() in said.lower(), where
            if case.front == FORM:
                assert "errors" not in said, where
            team.settle()
    assert walked == len(TABLE) * len(ROLES)
    # Every refusal is in the audit log too, with the sentence the person read.
    entries = team.andon.api("/api/audit?limit=1000")["entries"]
    refused = [e for e in entries if e["outcome"] == "refused" and e["message"] in PERMISSION]
    assert refused, entries[:5]


def _answer_whys(team: Team) -> None:
    """Someone answers the five whys in the stoppage's thread: investing may begin."""
    stoppage = team.andon.api("/api/line")["stoppage"]
    place = ThreadPlace(channel=stoppage["thread_channel"], thread_ts=stoppage["thread_ts"])
    person = Actor(id=ROLES["other"], name="other", via="slack")
    for level in range(1, 6):
        team.andon.andon.hear(place, person, f"because of reason {level}")
    team.andon.deliver()


def _do(team: Team, case: Case, value: str, user: str) -> str:
    if case.front == FORM:
        return team.submit_form(value, user)
    if case.front in COMMANDS:
        return team.slash(case.front, value, user)
    return team.press(case.front, value, user)


def _waiting_or_none(team: Team) -> str:
    found = [
        d["id"]
        for d in team.deploys()
        if d["status"] == "awaiting_approval" and d["requested_by"]["id"] == ROLES["deployer"]
    ]
    return str(found[0]) if found else "0"


def _first_item(team: Team) -> str:
    items = team.andon.api("/api/actions?status=open")["actions"]
    return str(items[0]["id"]) if items else "0"


def _stoppage(team: Team) -> str:
    stoppage = team.andon.api("/api/line")["stoppage"]
    return str(stoppage["id"]) if stoppage else "0"


# --- the CLI -----------------------------------------------------------------------------------


def _cli_env(team: Team, workdir: Path) -> dict[str, str]:
    """An operator's shell on the same database and andon.toml as the running Andon."""
    env = andon_env(workdir, database_url=team.andon.settings.andon_database_url, slack=team.slack)
    env["ANDON_CONFIG"] = team.andon.settings.andon_config
    return env


def test_the_cli_refuses_the_same_people_with_the_same_words(
    tmp_path: Path,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``andon … --as <id>`` for every row the CLI has, every role: ``bot.cli.command_line``
    itself, in this process (a subprocess per row would cost seconds each; one below proves the
    script)."""
    team = Team(tmp_path / "slack", fake_slack, access=RESTRICTED)
    try:
        revision = team.release("first")
        for name in [n for n in os.environ if n.startswith(("SLACK_", "ANDON_"))]:
            monkeypatch.delenv(name)
        for name, value in _cli_env(team, tmp_path).items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        team.slash("/line", "stop so that force has a line to start", ROLES["other"])
        walked = 0
        for case in [case for case in TABLE if case.cli]:
            allowed = [role for role in ROLES if role not in case.refused]
            for role in [*case.refused, *allowed]:
                args = [a.format(revision=revision[:7]) for a in case.cli]
                code = cli.main([*args, "--as", ROLES[role]])
                said = capsys.readouterr().out
                walked += 1
                where = f"andon {' '.join(args)} --as {role}: {code} {said!r}"
                if role in case.refused:
                    assert code == 1, where
                    assert case.refused[role].replace("`", "") in said, where  # plain text
                else:
                    assert not any(r.replace("`", "") in said for r in PERMISSION), where
        assert walked == sum(len(ROLES) for case in TABLE if case.cli)
        assert team.andon.api("/api/line")["state"] == "running"  # the admin forced it
    finally:
        team.stop()


def test_with_empty_lists_everyone_deploys_and_nobody_forces(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    team = Team(tmp_path, fake_slack, access="deployers = []\nadmins = []")
    try:
        team.release("first")
        for role, user in ROLES.items():
            said = team.slash("/deploy", "", user)
            assert "waits for approval" in said, (role, said)
        said = team.press(
            ActionId.DEPLOY_APPROVE, str(team.waiting(ROLES["admin"])), ROLES["other"]
        )
        assert "Deploying" in said, said
        team.settle()
        for role, user in ROLES.items():  # permission is asked first: anything else is not it
            said = team.press(ActionId.DEPLOY_ROLLBACK, "production", user)
            assert not any(refusal in said for refusal in PERMISSION), (role, said)
        team.slash("/line", "stop nobody may force this", ROLES["other"])
        for role, user in ROLES.items():
            said = team.slash("/line", "start force please", user)
            assert NOT_ADMIN in said, (role, said)
        env = _cli_env(team, tmp_path)
        done = run_cli(
            ["line", "start", "--force", "please", "--as", ROLES["admin"]], env=env, cwd=tmp_path
        )
        assert done.returncode == 1, done.stdout + done.stderr
        assert NOT_ADMIN.replace("`", "") in done.stdout, done.stdout
    finally:
        team.stop()
