"""The five whys in the stoppage's thread, end to end: signed ``message`` events with
``thread_ts`` and slash commands to a running Andon (the fake Slack listening, a clock the test
moves), and the same conversation through the terminal front. Answers, edits, ``back``,
investments with owners and dates, ``none``, the summary, the rule that restarts the line,
scheduling with its reminder, the nag, the force path and repeat detection."""

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.clock import ManualClock
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, andon_env, run_cli
from tests.inprocess import InProcessAndon
from tests.slack_requests import thread_reply

T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # a Thursday
CONFIG = f'[slack]\nchannel = "{CHANNEL}"\n[access]\nadmins = ["U0LEAD"]\n[line]\nnag = "2h"\n'
WHYS = (
    "the sign-up test called the real payment API",
    "the test has no fake for payments",
    "nobody wrote one when payments came in",
    "adding a dependency has no checklist",
    "we never invested in preventing that",
)
INVESTMENTS = (
    "1: add a contract test for the payment API <@U0ANA|ana> due 2026-12-04 #tests\n"
    "2: write a payments fake for tests"
)
_events = itertools.count(1)


@pytest.fixture
def andon(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[InProcessAndon]:
    fake_slack.forget()
    running = InProcessAndon(tmp_path, config=CONFIG, slack=fake_slack, clock=ManualClock(T0))
    running.start()
    yield running
    running.stop()


def _slash(andon: InProcessAndon, command: str, text: str, user: str = "U0MARIA") -> str:
    return andon.slash(command, text, user=user)


def _stop(andon: InProcessAndon, reason: str = "sign-up is broken") -> str:
    """Stop the line; returns the thread's ``ts`` (the announcement's)."""
    _slash(andon, "/line", f"stop {reason}")
    stoppage = andon.api("/api/line")["stoppage"]
    assert stoppage["thread_ts"], stoppage
    return stoppage["thread_ts"]


def _say(
    andon: InProcessAndon, thread: str, text: str, user: str = "U0MARIA", **event: Any
) -> None:
    """A person replies in the thread (a signed event callback, as Slack sends it)."""
    body, kind = thread_reply(text, user=user, thread_ts=thread, event_id=f"Ev{next(_events):06d}")
    if event:
        envelope = json.loads(body)
        envelope["event"].update(event)
        body = json.dumps(envelope).encode()
    assert andon.slack_post(body, kind).status_code == 200
    andon.deliver()


def _thread(slack: FakeSlack, thread: str) -> list[str]:
    return [
        c.params["text"]
        for c in slack.calls("chat.postMessage")
        if c.params.get("thread_ts") == thread
    ]


def _channel(slack: FakeSlack) -> list[str]:
    return [
        c.params["text"]
        for c in slack.calls("chat.postMessage")
        if c.params["channel"] == CHANNEL and not c.params.get("thread_ts")
    ]


def _answer_all(andon: InProcessAndon, thread: str) -> None:
    for answer in WHYS:
        _say(andon, thread, f"because {answer}")


def test_each_answer_gets_the_next_why_until_five_then_the_investments(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    assert _thread(fake_slack, thread)[0].endswith("Why 1: why did “sign-up is broken” happen?")
    _answer_all(andon, thread)
    said = _thread(fake_slack, thread)
    assert said[1:5] == [f"Why {n + 2}: why “{WHYS[n]}”?" for n in range(4)]
    assert said[5] == "Five whys found: now one investment per level"
    asked = [c for c in fake_slack.calls("chat.postMessage") if c.params.get("thread_ts") == thread]
    assert '"action_id": "whys_form"' in json.dumps(asked[-1].params["blocks"])


def test_edit_corrects_an_answer_and_back_reopens_the_previous_why(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    _say(andon, thread, f"because {WHYS[0]}")
    _say(andon, thread, "because a typo")
    _say(andon, thread, "edit 2: the test has no fake for payments")
    assert _thread(fake_slack, thread)[-1] == "Answer 2 is now: the test has no fake for payments"
    _say(andon, thread, "back")
    assert _thread(fake_slack, thread)[-1] == f"Why 2: why “{WHYS[0]}”?"
    _say(andon, thread, f"because {WHYS[1]}")
    assert _thread(fake_slack, thread)[-1] == f"Why 3: why “{WHYS[1]}”?"


def test_bots_and_messages_outside_the_thread_are_not_answers(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    _say(andon, thread, "deploy bot says hi", user="U0BOT", bot_id="B0DEPLOY")
    _say(andon, thread, "edited", subtype="message_changed")
    _say(andon, "1780000000.999999", "another thread entirely")
    assert len(_thread(fake_slack, thread)) == 1  # only Why 1


def test_a_slack_retry_of_the_same_event_is_one_answer(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    body, kind = thread_reply(
        f"because {WHYS[0]}", user="U0MARIA", thread_ts=thread, event_id="EvRETRY1"
    )
    for _ in range(2):
        assert andon.slack_post(body, kind).status_code == 200
    andon.deliver()
    assert _thread(fake_slack, thread)[1:] == [f"Why 2: why “{WHYS[0]}”?"]


def test_investments_with_owners_dates_and_none_close_the_analysis(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    _answer_all(andon, thread)
    _say(andon, thread, INVESTMENTS)
    assert (
        _thread(fake_slack, thread)[-1] == "Noted; still needed: investments for levels 3, 4 and 5"
    )
    _say(andon, thread, "3: add a new-dependency checklist to the PR template\n4: none: it did")
    _say(
        andon,
        thread,
        "5: alert on calls to real payment hosts from CI <@U0MARIA|maria> due 2026-12-10",
    )
    summary = f"Five whys of stoppage #1 done: {'sign-up is broken'}"
    assert _thread(fake_slack, thread)[-1] == summary
    # once in full: the thread's reply, also sent to the channel — not a second post
    summaries = [
        c.params for c in fake_slack.calls("chat.postMessage") if c.params["text"] == summary
    ]
    assert len(summaries) == 1 and summaries[0]["reply_broadcast"] is True
    assert summary not in _channel(fake_slack)
    stoppage = andon.api("/api/stoppages/1")
    items = {i["level"]: i for i in stoppage["investments"]}
    assert items[1]["owner"] == "U0ANA" and items[1]["due"] == "2026-12-04"
    assert items[1]["category"] == "tests/CI"
    assert items[2]["owner"] == "U0MARIA" and items[2]["due"] == "2026-12-03"  # a week
    assert items[3]["category"] == "commit check" and items[4]["status"] == "none"
    assert items[5]["category"] == "alerting"
    assert [a["text"] for a in stoppage["whys"]["answers"]] == list(WHYS)


def test_the_line_starts_only_once_the_whys_is_done_or_scheduled(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    refused = _slash(andon, "/line", "start")
    assert "is not done: it still lacks why 1–5 and the investments" in refused
    assert andon.api("/api/line")["state"] == "stopped"
    assert "scheduled for 2026-11-27 10:00 UTC" in _slash(andon, "/whys", "schedule tomorrow 10:00")
    assert "Five whys scheduled for 2026-11-27 10:00 UTC" in _thread(fake_slack, thread)
    assert "You started the line" in _slash(andon, "/line", "start")
    andon.clock.advance(timedelta(hours=20))
    andon.andon.tick_whys()
    andon.deliver()
    assert _thread(fake_slack, thread)[-1] == "Time for the five whys of stoppage #1"


def test_a_finished_analysis_lets_the_line_start(andon: InProcessAndon) -> None:
    thread = _stop(andon)
    _answer_all(andon, thread)
    _say(andon, thread, INVESTMENTS + "\n3: checklist #process\n4: none: fine\n5: none: fine")
    assert "You started the line" in _slash(andon, "/line", "start")


def test_an_admin_may_force_the_start_and_the_channel_hears_it(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    _stop(andon)
    assert "Only admins" in _slash(andon, "/line", "start force customers wait")
    assert "You started the line" in _slash(andon, "/line", "start force customers wait", "U0LEAD")
    assert any("forced the line to start: customers wait" in t for t in _channel(fake_slack))
    entries = andon.api("/api/audit")["entries"]
    forced = [e for e in entries if e["action"] == "line.start" and e["outcome"] == "ok"]
    assert forced[0]["detail"] == "force: customers wait"


def test_a_forced_start_is_one_post_that_says_what_the_five_whys_still_owes(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    _stop(andon)
    fake_slack.forget()
    _slash(andon, "/line", "start force customers wait", "U0LEAD")

    posts = _channel(fake_slack)
    assert len(posts) == 1 and posts[0].startswith("lead forced the line to start: customers wait")
    blocks = fake_slack.calls("chat.postMessage")[-1].params["blocks"]
    shown = json.dumps(blocks, ensure_ascii=False)
    assert "The five whys of stoppage #1 is still owed: it lacks why 1–5" in shown


def test_after_a_restart_the_owed_five_whys_is_still_reachable(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    thread = _stop(andon)
    _say(andon, thread, f"because {WHYS[0]}")
    assert "scheduled" in _slash(andon, "/whys", "schedule tomorrow 10:00")
    _slash(andon, "/line", "start")
    started = fake_slack.calls("chat.postMessage")[-1].params
    assert started["text"].startswith("Line running again")
    owed = json.dumps(started["blocks"], ensure_ascii=False)
    assert "is still owed: it lacks why 2–5 and the investments — the meeting is" in owed

    answer = _slash(andon, "/whys", "")

    assert answer == "Five whys of stoppage #1: why 2–5 and the investments left"
    assert "major" in _slash(andon, "/whys", "severity major")


def test_a_long_stop_is_not_forgotten(andon: InProcessAndon, fake_slack: FakeSlack) -> None:
    thread = _stop(andon)
    _say(andon, thread, f"because {WHYS[0]}")
    andon.clock.advance(timedelta(hours=2))
    andon.andon.tick_whys()
    andon.andon.tick_whys()  # the same nag is due once
    andon.deliver()
    nags = [t for t in _thread(fake_slack, thread) if t.startswith("Line stopped for")]
    assert nags == ["Line stopped for 2 h"]
    shown = json.dumps(
        fake_slack.calls("chat.postMessage")[-1].params["blocks"], ensure_ascii=False
    )
    assert "still lacks why 2–5 and the investments" in shown


def test_severity_sets_what_proportional_means(andon: InProcessAndon) -> None:
    _stop(andon)
    assert "is major: proportional means about a day per level" in _slash(
        andon, "/whys", "severity major"
    )
    assert "not a severity" in _slash(andon, "/whys", "severity huge")


def test_a_root_cause_that_comes_back_names_the_earlier_stoppage(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    for _ in range(2):
        thread = _stop(andon)
        _answer_all(andon, thread)
        _say(andon, thread, INVESTMENTS + "\n3: checklist #tests\n4: none: fine\n5: none: fine")
        _slash(andon, "/line", "start")
    done = [c.params for c in fake_slack.calls("chat.postMessage") if "done" in c.params["text"]]
    assert "looks like stoppage #1" in json.dumps(done[-1]["blocks"])
    assert "looks like" not in json.dumps(done[0]["blocks"])


def test_the_same_conversation_through_the_terminal(tmp_path: Path) -> None:
    env = andon_env(tmp_path, database_url=f"sqlite:///{tmp_path / 'andon.db'}", slack=None)
    (tmp_path / "andon.toml").write_text("")
    typed = ["/line stop sign-up is broken", *(f"#1 because {answer}" for answer in WHYS)]
    # the terminal runs on today's date: a due date must be one that lies ahead
    typed += [
        f"#1 {line.replace('due 2026-12-04', 'due in 2w')}" for line in INVESTMENTS.splitlines()
    ]
    typed += ["#1 3: checklist #process", "#1 4: none: fine", "#1 5: none: fine", "/line start"]
    done = run_cli(["shell", "--as", "maria"], env=env, cwd=tmp_path, stdin="\n".join(typed) + "\n")
    out = done.stdout
    assert "Why 1: why did “sign-up is broken” happen?" in out
    assert f"Why 5: why “{WHYS[3]}”?" in out
    assert "Five whys of stoppage #1 done" in out
    assert "Line running again" in out
