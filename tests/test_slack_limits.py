"""Slack's limits through the real fronts: each message issue 14 found lost — a page with several
suspect deploys, a red build with long or many test names, a long stop reason, long five-whys
answers, a failed deploy on 30 hosts, 100 action items — is played against a running Andon,
and what a person sees is asserted. The fake Slack refuses what Slack refuses, and the autouse
fixture of tests/conftest.py fails a test during which Andon sent anything it refused."""

import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from core.actor import Actor
from core.clock import ManualClock
from core.line import Started, Stopped, start, stop
from core.whys.analysis import whys_of
from core.whys.investing import record_investments
from core.whys.investments import read
from core.whys.phase import LEVELS, Phase, move
from storage.tables import WhyAnswer
from tests.ci_payloads import generic, post, sha, signature
from tests.deploy_line import App, newest_ended, toml_value
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, AndonServer, free_port
from tests.inprocess import InProcessAndon
from tests.slack_requests import block_action, slash_command, thread_reply

T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # a Thursday
LEAD, ONE = "U0LEAD", "U0ONE"
MARIA = Actor("U0MARIA", "maria", "slack")
DEAD_HOSTS = 29  # with `local`, a fleet of 30 (see the deploy scenario)
_events = itertools.count(1)


def _read(blocks: list[dict[str, Any]]) -> str:
    """Blocks as a person reads them: every text in order, one per line (a confirm dialog only
    shows once its button is pressed)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                found.append(str(node.get("text", "")))
            for value in (v for k, v in node.items() if k != "confirm"):
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return "\n".join(found)


def _buttons(blocks: list[dict[str, Any]], family: str) -> list[dict[str, Any]]:
    """The buttons of one family (``deploy_rollback``, ``deploy_rollback:1``, …) in order."""
    found = []
    for block in blocks:
        elements = list(block.get("elements") or []) if block["type"] == "actions" else []
        elements += [block["accessory"]] if "accessory" in block else []
        found += [e for e in elements if e.get("action_id", "").partition(":")[0] == family]
    return found


def _posted(slack: FakeSlack, where: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    return slack.wait_for("chat.postMessage", where)[-1].params


def _said(
    andon: "AndonServer | InProcessAndon", command: str, text: str, user: str = "U0MARIA"
) -> dict[str, Any]:
    """A signed slash command; the answer a person sees (Slack judges the ack too)."""
    body, kind = slash_command(
        command, text, user=user, name=user[2:].lower(), response_url=_response_url(andon)
    )
    answer = andon.slack_post(body, kind)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _response_url(andon: "AndonServer | InProcessAndon") -> str:
    assert andon.slack is not None
    return andon.slack.response_url(uuid.uuid4().hex[:8])


def _press(
    andon: "AndonServer | InProcessAndon", button: dict[str, Any], *, user: str
) -> dict[str, Any]:
    """Press ``button`` as Slack sends it (its own action id and value); the answer's body."""
    assert andon.slack is not None
    before = len(andon.slack.calls("response_url"))
    body, kind = block_action(
        button["action_id"],
        button["value"],
        user=user,
        name=user[2:].lower(),
        response_url=_response_url(andon),
    )
    assert andon.slack_post(body, kind).status_code == 200
    return andon.slack.wait_for("response_url", count=before + 1)[-1].params


# --- a running `andon serve`, shared by the scenarios that need no clock -----------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    return App(tmp_path_factory.mktemp("limits-git"))


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack, app: App
) -> Iterator[AndonServer]:
    root = tmp_path_factory.mktemp("limits")
    ports: set[int] = set()
    while len(ports) < DEAD_HOSTS:  # free_port may hand the same free port out twice
        ports.add(free_port())
    down = [f"deploy@127.0.0.1:{port}" for port in sorted(ports)]  # nothing listens
    environments = {
        "staging": {"hosts": ["local"]},
        "gated": {"hosts": ["local"], "require_approval": True},
        "fleet": {"hosts": ["local", *down], "batches": ["100%"]},
    }
    lines = [f'[slack]\nchannel = "{CHANNEL}"\n[access]\nadmins = ["{LEAD}"]']
    lines.append(f"[repo]\npath = {toml_value(str(app.clone))}")
    for name, settings in environments.items():
        table = {"path": str(root / "hosts" / name), **settings}
        lines.append(f"[environments.{name}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in table.items()]
    server = AndonServer(
        root / "andon",
        database_url=f"sqlite:///{root / 'andon.db'}",
        slack=fake_slack,
        config="\n".join(lines) + "\n",
    ).start()
    yield server
    server.stop()


@pytest.fixture
def line(served: AndonServer, fake_slack: FakeSlack) -> AndonServer:
    """The shared server with its line running again and the fake's calls forgotten."""
    if served.api("/api/line").json()["state"] == "stopped":
        _said(served, "/line", "start force the next scenario", user=LEAD)
    fake_slack.forget()
    return served


def _green(server: AndonServer, app: App, message: str) -> str:
    """A commit CI passed: a revision ready to deploy."""
    revision = app.commit(message, {"app.py": f"print({message!r})\n"})
    assert post(server, "generic", generic(revision, "passed", run_id=revision[:8])).ok
    return revision


def _deployed(server: AndonServer, revision: str, environment: str) -> dict[str, Any]:
    """``/deploy <rev> <env>``, then the deploy once it has ended."""
    count = len(server.api("/api/deploys").json()["deploys"])
    answer = _said(server, "/deploy", f"{revision} {environment}")
    assert f"to {environment}" in answer["text"], answer["text"]
    return _ended(server, count + 1)


def _ended(server: AndonServer, count: int, timeout: float = 60.0) -> dict[str, Any]:
    return newest_ended(
        lambda: server.api("/api/deploys").json()["deploys"], count=count, timeout=timeout
    )


def _final(slack: FakeSlack, deploy_id: int, words: str) -> str:
    """The deploy's channel message as it last reads, once it says ``words``."""

    def match(p: dict[str, Any]) -> bool:
        return f"deploy {deploy_id}" in json.dumps(p.get("blocks")) and words in p.get("text", "")

    return _read(slack.wait_for("chat.update", match)[-1].params["blocks"])


# --- 2. a red build with long, or many, test names ---------------------------------------------


@pytest.mark.parametrize("count", [10, 300])
def test_a_red_build_with_long_or_many_test_names_is_announced(
    line: AndonServer, fake_slack: FakeSlack, count: int
) -> None:
    rev = sha()
    names = [
        f"tests/test_checkout.py::test_totals[{n:03d}-" + "eur-with-vat-and-discount-" * 12 + "]"
        for n in range(count)
    ]
    assert post(line, "generic", generic(rev, "failed", failed_tests=names)).ok
    said = _posted(fake_slack, lambda p: f"CI failed on {rev[:7]} (main)" in p["text"])
    shown = _read(said["blocks"])
    listed = [row for row in shown.splitlines() if row.startswith("• `tests/test_checkout")]
    assert [row[3:60] for row in listed] == [name[:57] for name in names[: len(listed)]]
    assert all(row.endswith("…`") for row in listed)  # each long name clipped, not dropped
    kept = min(count, 200)  # Andon keeps a run's first 200 failing tests
    assert len(listed) == 10 and f"*Failing tests ({kept})*" in shown
    if count == 10:
        assert "more" not in shown
    else:
        assert f"… and {kept - 10} more: `/ci {rev[:7]}` lists them all." in shown

    answer = _said(line, "/ci", rev[:7])  # where "… and N more" sends people
    assert answer["text"].startswith(f"{rev[:7]} ")
    full = _read(answer["blocks"])
    assert f"*tests: failing tests ({kept})*" in full and names[0][:150] in full
    assert f"revision {rev}" in full
    if count == 10:
        assert all(name[:150] in full for name in names)
    else:
        assert "more — the run has them all." in full


# --- 3. a long /line stop reason, and /line status with long causes ----------------------------


def test_a_long_stop_reason_is_announced_and_opens_the_thread(
    line: AndonServer, fake_slack: FakeSlack
) -> None:
    reason = ("the checkout queue backs up after the nightly price import " * 40)[:2000]
    assert "You stopped the line" in _said(line, "/line", f"stop {reason}")["text"]
    thread = line.open_stoppage()["thread_ts"]
    announced = _posted(fake_slack, lambda p: p["text"].startswith("Line stopped by"))
    assert reason.strip() in _read(announced["blocks"])
    opener = _posted(fake_slack, lambda p: p.get("thread_ts") == thread)
    shown = _read(opener["blocks"])
    assert shown.count(reason.strip()) == 1  # whole once; the question quotes its start
    assert "Why 1: why did “the checkout queue backs up" in shown and "…” happen?" in shown

    for n, user in enumerate(["U0ANA", "U0BOB", "U0CAROL", "U0DAN"], start=1):
        cause = f"cause {n}: " + "the price import holds the table lock for minutes " * 45
        assert "already stopped" in _said(line, "/line", f"stop {cause[:2000]}", user)["text"]
    status = _said(line, "/line", "status")  # judged by the fake as Slack judges an ack
    assert status["text"].startswith("The line has been stopped since")
    listed = _read(status["blocks"])
    causes = [row for row in listed.splitlines() if row.startswith("• ")]
    assert causes[0].startswith("• the checkout queue backs up") and "*Causes*" in listed
    assert [row[2:9] for row in causes[1:]] == [f"cause {n}" for n in range(1, 5)]
    assert all("…" in row for row in causes)  # each clipped, all five shown
    # no Start button the five whys rule would refuse: what clears the way instead
    assert _buttons(status["blocks"], "line_start") == []
    assert "is not done: it still lacks" in listed


# --- 4. long answers in the five whys, and its summary -----------------------------------------


def test_long_answers_are_quoted_clipped_and_the_summary_is_delivered(
    line: AndonServer, fake_slack: FakeSlack
) -> None:
    _said(line, "/line", "stop checkout is down")
    stoppage = line.open_stoppage()
    thread, number = stoppage["thread_ts"], stoppage["id"]

    def say(text: str) -> None:
        event = f"EvLIMITS{next(_events):04d}{uuid.uuid4().hex[:6]}"
        body, kind = thread_reply(text, user="U0MARIA", thread_ts=thread, event_id=event)
        assert line.slack_post(body, kind).status_code == 200

    answers = [
        f"answer {n}: " + "the retry loop of the payment client doubles " * 50 for n in "12345"
    ]
    say(f"because {answers[0]}")
    why = _posted(fake_slack, lambda p: p.get("thread_ts") == thread and "Why 2" in p["text"])
    assert len(answers[0]) > 2000 and "Why 2: why “answer 1: the retry loop of" in why["text"]
    assert "…”?" in why["text"] and len(why["text"]) < len(answers[0])
    for answer in answers[1:]:
        say(f"because {answer}")
    invest = "a contract test that fails when the payment client retries without a backoff " * 9
    say("\n".join(f"{n}: {n} {invest} due 2027-01-15 #tests" for n in range(1, LEVELS + 1)))

    done = f"Five whys of stoppage #{number} done"
    in_thread = _posted(fake_slack, lambda p: p.get("thread_ts") == thread and done in p["text"])
    assert in_thread["reply_broadcast"] is True  # shown in the channel too, posted once
    for summary in (in_thread,):
        shown = _read(summary["blocks"])
        assert all(f"answer {n}: the retry loop" in shown for n in "12345")
        assert all(f"*{n}.* {n} a contract test" in shown for n in range(1, LEVELS + 1))
        assert "…" in shown  # clipped, with what was cut marked


# --- 5. a failed deploy on 30 hosts ------------------------------------------------------------


def test_a_failed_deploy_on_thirty_hosts_lists_the_failing_ones_first(
    line: AndonServer, fake_slack: FakeSlack, app: App
) -> None:
    # Thirty hosts that deploy cheaply cannot all work: hosts are told apart by address, so
    # `local` is one, and the session's SSH fleet has three sshd. So `local` works and 29 hosts
    # are down (nothing listens on their ports, refused at once); `local` is listed first in
    # andon.toml, and the message must still lead with the hosts that failed.
    revision = _green(line, app, "thirty hosts")
    deploy = _deployed(line, revision, "fleet")
    assert deploy["status"] == "failed" and len(deploy["hosts"]) == 30
    failed = [h for h in deploy["hosts"] if h["step"] == "failed"]
    assert len(failed) == DEAD_HOSTS

    shown = _final(fake_slack, deploy["id"], "hosts already switched were flipped back")
    hosts = [row for row in shown.splitlines() if row.startswith("`")]
    assert len(hosts) == 25 and all(":x: failed: " in row for row in hosts)
    assert "`local`" not in shown
    assert "… and 5 more hosts: `GET /api/deploys` lists every one." in shown


# --- 7. the dangerous buttons ask first ---------------------------------------------------------


def test_start_roll_back_and_approve_carry_slacks_confirm_dialog(
    line: AndonServer, fake_slack: FakeSlack, app: App
) -> None:
    first, second = _green(line, app, "first"), _green(line, app, "second")
    _deployed(line, first, "staging")
    deploy = _deployed(line, second, "staging")

    def update(p: dict[str, Any]) -> bool:
        return f"deploy {deploy['id']}" in json.dumps(p.get("blocks")) and "Deployed" in p["text"]

    shipped = fake_slack.wait_for("chat.update", update)[-1].params
    rollback = _buttons(shipped["blocks"], "deploy_rollback")
    _said(line, "/deploy", f"{second} gated")
    asked = _posted(fake_slack, lambda p: "asks to deploy" in p["text"])
    approve = _buttons(asked["blocks"], "deploy_approve")
    _said(line, "/line", "stop the staging database is full")
    _said(line, "/whys", "schedule in 1h")  # the five whys booked: the notice offers Start

    def startable(p: dict[str, Any]) -> bool:
        return p["text"].startswith("Line stopped by") and "line_start" in json.dumps(p["blocks"])

    stopped = fake_slack.wait_for("chat.update", startable)[-1].params
    start_ = _buttons(stopped["blocks"], "line_start")

    dialogs = {b["text"]["text"]: b.get("confirm") for b in [*rollback, *approve, *start_]}
    assert set(dialogs) == {f"Roll back to {first[:7]}", "Approve", "Start the line"}
    for label, confirm in dialogs.items():
        assert confirm is not None, f"{label} has no confirm dialog"
        assert confirm["deny"]["text"] == "Cancel" and confirm["title"]["text"].endswith("?")
    assert dialogs[f"Roll back to {first[:7]}"]["confirm"]["text"] == "Roll back"
    assert dialogs["Approve"]["confirm"]["text"] == "Approve and deploy"
    assert dialogs["Start the line"]["confirm"]["text"] == "Start the line"


# --- in-process Andon with a clock the test moves ----------------------------------------------


@pytest.fixture
def in_process(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Callable[..., Any]]:
    fake_slack.forget()
    started: list[InProcessAndon] = []

    def begin(config: str) -> InProcessAndon:
        andon = InProcessAndon(
            tmp_path / "andon", config=config, slack=fake_slack, clock=ManualClock(T0)
        )
        started.append(andon.start())
        return andon

    yield begin
    for andon in started:
        andon.stop()


# --- 1. a page with several suspect deploys -----------------------------------------------------


def _shards(app: App, hosts: Path, names: list[str]) -> str:
    """A config with one environment per shard, each on ``local`` under ``hosts``."""
    config = f'[slack]\nchannel = "{CHANNEL}"\n[oncall]\nrotation = ["{ONE}"]\n'
    config += f"[repo]\npath = {toml_value(str(app.clone))}\n"
    for name in names:
        where = toml_value(str(hosts / name))
        config += f'[environments.{name}]\npath = {where}\nhosts = ["local"]\n'
    return config


def _ship_to_every_shard(andon: InProcessAndon, app: App, names: list[str], message: str) -> str:
    """A commit and its green build, deployed to each shard a minute apart: its revision."""
    revision = app.commit(message, {"app.py": f"print({message!r})\n"})
    assert post(andon, "generic", generic(revision, "passed", run_id=revision[:8])).ok  # type: ignore[arg-type]
    for name in names:
        assert "Deploying" in _said(andon, "/deploy", f"{revision} {name}")["text"]
        assert andon.andon.deployer is not None
        andon.andon.deployer.wait(timeout=30)
        andon.clock.advance(timedelta(minutes=1))
    return revision


def _checkout_errors_fire(andon: InProcessAndon) -> None:
    body = json.dumps({"name": "checkout_errors", "status": "firing", "summary": "5xx up"})
    answer = requests.post(
        f"{andon.url}/hooks/alerts/generic",
        data=body.encode(),
        headers={"Content-Type": "application/json", "X-Andon-Signature": signature(body.encode())},
        timeout=10,
    )
    assert answer.status_code in (200, 202), answer.text
    andon.deliver()


def _assert_rolled_back_only(
    andon: InProcessAndon, hosts: Path, names: list[str], *, environment: str, old: str, new: str
) -> None:
    """The roll-back of ``environment`` to ``old`` succeeded, is said in its final message,
    and every other shard still runs ``new``."""
    assert andon.slack is not None
    newest = andon.api("/api/deploys")["deploys"][0]
    assert (newest["kind"], newest["environment"], newest["revision"]) == (
        "rollback",
        environment,
        old,
    )
    assert newest["status"] == "succeeded"
    live = {n: (hosts / n / "current" / "REVISION").read_text().strip() for n in names}
    assert live == {n: old if n == environment else new for n in names}
    shown = _final(andon.slack, newest["id"], "Rolled back")
    assert f"*Rolled back* *{environment}* to `{old[:7]}`" in shown


@pytest.mark.parametrize("count", [2, 5])
def test_a_page_with_several_suspects_offers_one_working_roll_back_each(
    in_process: Callable[..., InProcessAndon], fake_slack: FakeSlack, tmp_path: Path, count: int
) -> None:
    app = App(tmp_path / "git")
    names = [f"shard{n}" for n in range(1, count + 1)]
    andon = in_process(_shards(app, tmp_path / "hosts", names))
    old = _ship_to_every_shard(andon, app, names, "old")
    andon.clock.advance(timedelta(minutes=40))  # outside the 30 min watch: not a suspect
    new = _ship_to_every_shard(andon, app, names, "new")
    _checkout_errors_fire(andon)

    page = _posted(fake_slack, lambda p: p["channel"] == "D" + ONE[1:] and "page #1" in p["text"])
    assert page["text"].startswith("checkout_errors — page #1")
    buttons = _buttons(page["blocks"], "deploy_rollback")
    ids = [b["action_id"] for b in buttons]
    assert ids == ["deploy_rollback", *(f"deploy_rollback:{n}" for n in range(1, count))]
    assert [b["value"] for b in buttons] == [f"{n} {old}" for n in reversed(names)]  # newest first
    assert all(b["text"]["text"] == f"Roll back {new[:7]}" for b in buttons)
    assert all(b["confirm"]["title"]["text"].startswith("Roll back shard") for b in buttons)
    assert len(_buttons(page["blocks"], "page_ack")) == 1

    pressed = buttons[min(3, count - 1)]  # deploy_rollback:3 of five, :1 of two
    environment = pressed["value"].split()[0]
    said = _press(andon, pressed, user=ONE)
    assert said["text"].startswith(f"Rolling back {environment} to {old[:7]}")
    assert andon.andon.deployer is not None
    andon.andon.deployer.wait(timeout=30)
    andon.deliver()
    _assert_rolled_back_only(
        andon, tmp_path / "hosts", names, environment=environment, old=old, new=new
    )


# --- 6. /actions all with 100 open items --------------------------------------------------------


def _hundred_items(andon: InProcessAndon) -> None:
    """Twenty stoppages, each with its five whys done and five investments: 100 open items,
    item k due k + 1 days after T0."""
    clock = andon.clock
    for s in range(20):
        with andon.andon.unit_of_work() as (session, outbox):
            stopped = stop(session, notifier=outbox, clock=clock, actor=MARIA, reason=f"s{s}")
            assert isinstance(stopped, Stopped)
            number = stopped.stoppage.id
            for level in range(1, LEVELS + 1):
                session.add(
                    WhyAnswer(
                        stoppage_id=number,
                        level=level,
                        text=f"why {level}",
                        by=MARIA.id,
                        by_name=MARIA.name,
                        at=clock.now(),
                    )
                )
            row = whys_of(session, number)
            while not Phase.of(row).answered:  # as five answers move it
                move(row, Phase.of(row).following)
            session.add(row)
            session.flush()
            text = "\n".join(
                f"{level}: item {s * 5 + level - 1:03d} "
                + "write the payments fake " * 25
                + f"due {date(2026, 11, 27) + timedelta(days=s * 5 + level - 1)}"
                for level in range(1, LEVELS + 1)
            )
            found = read(text, author=MARIA.id, author_name=MARIA.name, today=clock.now().date())
            record_investments(
                session, notifier=outbox, clock=clock, stoppage_id=number, actor=MARIA, found=found
            )
            assert isinstance(start(session, notifier=outbox, clock=clock, actor=MARIA), Started)
    andon.deliver()


def test_a_hundred_action_items_are_listed_with_a_done_button_each(
    in_process: Callable[..., InProcessAndon], fake_slack: FakeSlack
) -> None:
    andon = in_process(f'[slack]\nchannel = "{CHANNEL}"\n')
    _hundred_items(andon)
    answer = _said(andon, "/actions", "all")  # judged by the fake as Slack judges an ack
    assert answer["text"] == "Open action items: 100"
    done = _buttons(answer["blocks"], "action_done")
    ids = [b["action_id"] for b in done]
    assert ids[:2] == ["action_done", "action_done:1"] and len(set(ids)) == len(ids) == 40
    shown = _read(answer["blocks"])
    assert "item 000 write" in shown and "item 039 write" in shown and "item 040" not in shown
    assert "… and 60 more, due later." in shown

    thirtieth = done[29]
    assert thirtieth["action_id"] == "action_done:29"
    said = _press(andon, thirtieth, user="U0MARIA")
    assert said["text"].startswith("Marked done: level 5 of stoppage #6 — item 029 write")
    finished = andon.api("/api/actions?status=done")["actions"]
    assert [a["id"] for a in finished] == [int(thirtieth["value"])]
    assert "item 029" not in _read(_said(andon, "/actions", "all")["blocks"])
