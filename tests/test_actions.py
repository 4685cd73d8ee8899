"""Action items after a five whys, end to end on a running Andon (fake Slack, a clock the test
moves): ``/actions`` and ``/actions all``, the Done button and the thread hearing it, the overdue
DM on weekday mornings only and once a day, the JSON API, ``andon whys export``, and the
investments form (a modal opened by the thread's button, its submission read like replies)."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from core.actor import Actor
from core.clock import ManualClock
from core.line import Stopped, stop
from core.whys.actions import overdue
from core.whys.analysis import whys_of
from core.whys.investing import record_investments
from core.whys.investments import read
from core.whys.phase import LEVELS, Phase, move
from storage.tables import WhyAnswer
from tests.fakes.slack import FakeSlack
from tests.harness import API_TOKEN, CHANNEL, andon_env, run_cli
from tests.inprocess import InProcessAndon
from tests.slack_requests import (
    block_action,
    fresh_trigger_id,
    slash_command,
    thread_reply,
    view_submission,
)

T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # a Thursday
SATURDAY = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
MONDAY = datetime(2026, 12, 7, 8, 59, tzinfo=UTC)
CONFIG = f'[slack]\nchannel = "{CHANNEL}"\n'
MARIA = Actor("U0MARIA", "maria", "slack")
WHYS = (
    "the sign-up test called the real payment API",
    "the test has no fake for payments",
    "nobody wrote one when payments came in",
    "adding a dependency has no checklist",
    "we never invested in preventing that",
)
INVESTMENTS = (
    "1: add a smoke test for sign-up due 2026-12-01 #tests\n"
    "2: alert when sign-ups drop below one an hour <@U0JOE|joe> due 2026-12-10\n"
    "3: none: the deploy did exactly what it should\n"
    "4: the review checklist asks for a payments fake @carol due 2026-12-03\n"
    "5: write the sign-up outage runbook <@U0JOE|joe> due 2026-11-30 #process"
)


@pytest.fixture
def andon(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[InProcessAndon]:
    fake_slack.forget()
    running = InProcessAndon(tmp_path, config=CONFIG, slack=fake_slack, clock=ManualClock(T0))
    running.start()
    yield running
    running.stop()


def _seed(andon: InProcessAndon, *, phase: Phase = Phase.INVESTING, investments: str = "") -> int:
    """A stoppage whose five whys stands at ``phase``, with ``investments`` recorded."""
    clock = andon.clock
    with andon.andon.unit_of_work() as (session, outbox):
        stopped = stop(
            session, notifier=outbox, clock=clock, actor=MARIA, reason="sign-up is broken"
        )
        assert isinstance(stopped, Stopped)
        stoppage_id = stopped.stoppage.id
        answered = phase.asked - 1 if phase.asked is not None else LEVELS
        for level, text in enumerate(WHYS[:answered], start=1):
            session.add(
                WhyAnswer(
                    stoppage_id=stoppage_id,
                    level=level,
                    text=text,
                    by=MARIA.id,
                    by_name=MARIA.name,
                    at=clock.now(),
                )
            )
        row = whys_of(session, stoppage_id)
        while Phase.of(row) is not phase:  # as the answers move it
            move(row, Phase.of(row).following)
        session.add(row)
        session.flush()
        if investments:
            found = read(
                investments, author=MARIA.id, author_name=MARIA.name, today=clock.now().date()
            )
            record_investments(
                session,
                notifier=outbox,
                clock=clock,
                stoppage_id=stoppage_id,
                actor=MARIA,
                found=found,
            )
    andon.deliver()
    return stoppage_id


def _slash(andon: InProcessAndon, text: str, *, user: str, name: str) -> dict[str, Any]:
    body, kind = slash_command(
        "/actions", text, user=user, name=name, response_url=andon.slack.response_url()
    )
    answer = andon.slack_post(body, kind)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _press(andon: InProcessAndon, action: str, value: str, *, user: str, name: str) -> str:
    """Press a button; returns the answer's text (sent to ``response_url`` after the ack)."""
    before = len(andon.slack.calls("response_url"))
    body, kind = block_action(
        action, value, user=user, name=name, response_url=andon.slack.response_url("press")
    )
    assert andon.slack_post(body, kind).status_code == 200
    answered = andon.slack.wait_for("response_url", count=before + 1)
    return answered[-1].params["text"]


def _item_id(andon: InProcessAndon, level: int) -> int:
    found = [a for a in andon.api("/api/actions")["actions"] if a["level"] == level]
    return found[0]["id"]


def _thread(slack: FakeSlack, thread_ts: str) -> list[str]:
    return [
        c.params["text"]
        for c in slack.calls("chat.postMessage")
        if c.params.get("thread_ts") == thread_ts
    ]


def _dms(slack: FakeSlack) -> dict[str, list[str]]:
    """Who read which DMs (the fake opens ``D…`` for ``U…``)."""
    found: dict[str, list[str]] = {}
    for call in slack.calls("chat.postMessage"):
        channel = call.params["channel"]
        if channel.startswith("D"):
            found.setdefault("U" + channel[1:], []).append(json.dumps(call.params))
    return found


def _at(andon: InProcessAndon, moment: datetime) -> None:
    andon.clock.advance(moment - andon.clock.now())


def _tick(andon: InProcessAndon) -> dict[str, list[str]]:
    """The scheduler's whys tick, then every DM sent since the last look."""
    andon.slack.forget()
    andon.andon.tick_whys()
    andon.deliver()
    return _dms(andon.slack)


# --- /actions and Done ------------------------------------------------------------------------


def test_actions_lists_mine_and_all_lists_everyones_soonest_due_first(
    andon: InProcessAndon,
) -> None:
    _seed(andon, investments=INVESTMENTS)
    mine = _slash(andon, "", user="U0MARIA", name="maria")
    assert mine["response_type"] == "ephemeral"
    assert mine["text"] == "Your open action items: 1"
    shown = json.dumps(mine["blocks"])
    assert "add a smoke test for sign-up" in shown and "due 2026-12-01" in shown
    assert "tests/CI" in shown and "stoppage #1" in shown
    assert f'"value": "{_item_id(andon, 1)}"' in shown and '"action_id": "action_done"' in shown
    assert "runbook" not in shown

    everyone = _slash(andon, "all", user="U0MARIA", name="maria")
    assert everyone["text"] == "Open action items: 4"
    texts = [b["text"]["text"] for b in everyone["blocks"] if "accessory" in b]
    assert [t.split(" · ")[1].split("\n")[0] for t in texts] == [
        "write the sign-up outage runbook",  # due 2026-11-30
        "add a smoke test for sign-up",  # due 2026-12-01
        "the review checklist asks for a payments fake",  # due 2026-12-03
        "alert when sign-ups drop below one an hour",  # due 2026-12-10
    ]
    assert "<@U0JOE>" in texts[0] and "*carol*" in texts[2] and "none" not in json.dumps(texts)

    # Owners written as plain names outside Slack find theirs by name.
    carol = _slash(andon, "", user="U0CAROL", name="carol")
    assert "payments fake" in json.dumps(carol["blocks"])
    nobody = _slash(andon, "", user="U0BOB", name="bob")
    assert nobody["text"] == "You have no open action items."


def test_an_overdue_item_is_flagged(andon: InProcessAndon) -> None:
    _seed(andon, investments=INVESTMENTS)
    _at(andon, datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    everyone = _slash(andon, "all", user="U0MARIA", name="maria")
    assert everyone["text"] == "Open action items: 4, 2 overdue"
    runbook, smoke, checklist, _alert = (b for b in everyone["blocks"] if "accessory" in b)
    assert "*overdue*" in runbook["text"]["text"] and "*overdue*" in smoke["text"]["text"]
    assert "overdue" not in checklist["text"]["text"]


def test_done_closes_the_item_the_thread_hears_and_a_second_press_is_refused(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    stoppage_id = _seed(andon, investments=INVESTMENTS)
    thread_ts = andon.api(f"/api/stoppages/{stoppage_id}")["thread_ts"]
    item = _item_id(andon, 1)

    answer = _press(andon, "action_done", str(item), user="U0MARIA", name="maria")
    assert answer.startswith("Marked done: level 1 of stoppage #1 — add a smoke test")
    andon.deliver()
    assert _thread(fake_slack, thread_ts)[-1] == (
        "maria marked level 1 done: add a smoke test for sign-up"
    )
    done = [a for a in andon.api("/api/actions?status=done")["actions"]]
    assert [(a["id"], a["done_at"]) for a in done] == [(item, T0.isoformat())]
    assert "add a smoke test" not in json.dumps(_slash(andon, "", user="U0MARIA", name="maria"))

    again = _press(andon, "action_done", str(item), user="U0JOE", name="joe")
    assert again == (
        f"Action item {item} (add a smoke test for sign-up) is already done since 14:00 UTC: "
        "nothing changed."
    )
    nothing = _press(andon, "action_done", str(_item_id(andon, 3)), user="U0JOE", name="joe")
    assert "invests nothing on purpose" in nothing
    assert (
        _press(andon, "action_done", "999", user="U0JOE", name="joe")
        == "There is no action item 999: `/actions all` lists the open ones."
    )
    audit = [e for e in andon.api("/api/audit")["entries"] if e["action"] == "action.done"]
    assert [e["outcome"] for e in audit] == ["refused", "refused", "refused", "ok"]


# --- the overdue DM ---------------------------------------------------------------------------


def test_overdue_owners_hear_on_weekday_mornings_once_a_day(andon: InProcessAndon) -> None:
    _seed(andon, investments=INVESTMENTS)
    assert _tick(andon) == {}  # Thursday: nothing is late yet

    _at(andon, SATURDAY)
    assert _tick(andon) == {}  # three items are late, but it is the weekend

    _at(andon, MONDAY)  # 08:59
    assert _tick(andon) == {}
    andon.clock.advance(timedelta(minutes=1))
    heard = _tick(andon)
    assert sorted(heard) == ["U0JOE", "U0MARIA"]  # carol is a name, not a Slack user: no DM
    assert len(heard["U0JOE"]) == 1 and len(heard["U0MARIA"]) == 1
    assert "runbook" in heard["U0JOE"][0] and "alert when" not in heard["U0JOE"][0]
    assert "You have an action item past due" in heard["U0MARIA"][0]
    assert '"action_id": "action_done"' in heard["U0MARIA"][0]

    andon.clock.advance(timedelta(hours=3))
    assert _tick(andon) == {}  # once a day

    _press(andon, "action_done", str(_item_id(andon, 5)), user="U0JOE", name="joe")
    _at(andon, MONDAY + timedelta(days=1, minutes=30))  # Tuesday 09:29
    assert sorted(_tick(andon)) == ["U0MARIA"]


def test_the_morning_is_the_teams_local_morning(andon: InProcessAndon) -> None:
    _seed(andon, investments=INVESTMENTS)
    _at(andon, datetime(2026, 12, 5, 4, 30, tzinfo=UTC))  # Saturday in UTC, Friday 23:30 in NY

    def remind(timezone: str) -> int:
        with andon.andon.unit_of_work() as (session, outbox):
            return overdue(session, notifier=outbox, clock=andon.clock, timezone=timezone)

    assert remind("UTC") == 0
    assert remind("America/New_York") == 2
    assert remind("America/New_York") == 0


def test_a_due_date_counts_from_the_teams_today_not_utcs(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    """14:00 UTC on Thursday is already Friday in Auckland: an item with no due date is due a
    week from the team's Friday, from a reply and from the form alike, and "tomorrow" is their
    Saturday."""
    fake_slack.forget()
    config = CONFIG + '[digest]\ntimezone = "Pacific/Auckland"\n'
    clock = ManualClock(T0)
    andon = InProcessAndon(tmp_path, config=config, slack=fake_slack, clock=clock)
    andon.start()
    try:
        stoppage_id = _seed(andon)
        thread_ts = andon.api(f"/api/stoppages/{stoppage_id}")["thread_ts"]
        body, kind = thread_reply(
            "1: add a contract test for payments\n3: add a dependency checklist due tomorrow",
            user="U0MARIA",
            thread_ts=thread_ts,
            event_id="EvDUE0000001",
        )
        assert andon.slack_post(body, kind).status_code == 200
        andon.deliver()
        assert _submit(andon, stoppage_id, {2: "write a payments fake"}) == {}

        due = {a["level"]: a["due"] for a in andon.api("/api/actions")["actions"]}
        assert due == {1: "2026-12-04", 2: "2026-12-04", 3: "2026-11-28"}
        mine = _slash(andon, "", user="U0MARIA", name="maria")
        assert "add a contract test for payments" in json.dumps(mine["blocks"])
        assert "due 2026-12-04" in json.dumps(mine["blocks"])

        # two days on it is Sunday there, still Saturday in UTC: their Saturday has passed
        clock.advance(timedelta(days=2))
        assert _slash(andon, "", user="U0MARIA", name="maria")["text"].endswith(", 1 overdue")
    finally:
        andon.stop()


# --- the API ----------------------------------------------------------------------------------


def test_the_api_lists_action_items_and_the_stoppage_holds_its_analysis(
    andon: InProcessAndon,
) -> None:
    stoppage_id = _seed(andon, investments=INVESTMENTS)
    actions = andon.api("/api/actions")["actions"]
    assert [a["level"] for a in actions] == [1, 2, 3, 4, 5]
    alert = actions[1]
    assert {k: alert[k] for k in ("stoppage_id", "text", "owner", "due", "category", "status")} == {
        "stoppage_id": stoppage_id,
        "text": "alert when sign-ups drop below one an hour",
        "owner": "U0JOE",
        "due": "2026-12-10",
        "category": "alerting",
        "status": "open",
    }
    assert actions[2]["status"] == "none" and actions[2]["owner"] is None
    assert [a["level"] for a in andon.api("/api/actions?status=open")["actions"]] == [1, 2, 4, 5]
    assert [a["level"] for a in andon.api("/api/actions?owner=U0JOE")["actions"]] == [2, 5]
    assert [a["level"] for a in andon.api("/api/actions?owner=carol")["actions"]] == [4]
    refused = requests.get(
        andon.url + "/api/actions?status=late",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
        timeout=10,
    )
    assert refused.status_code == 422

    stoppage = andon.api(f"/api/stoppages/{stoppage_id}")
    assert stoppage["causes"][0]["text"] == "sign-up is broken"
    assert {"id", "state", "opened_at", "closed_at", "duration_s", "thread_ts"} <= set(stoppage)
    whys = stoppage["whys"]
    assert (whys["severity"], whys["open_level"], whys["repeat_of"]) == ("minor", 7, None)
    assert whys["done_at"] == T0.isoformat() and whys["scheduled_at"] is None
    assert [a["text"] for a in whys["answers"]] == list(WHYS)
    assert whys["answers"][0]["by"] == {"id": "U0MARIA", "name": "maria"}
    assert set(whys["answers"][0]) == {"level", "text", "by", "at", "edited_at"}
    assert stoppage["investments"] == actions


# --- the post-mortem --------------------------------------------------------------------------


def test_whys_export_writes_the_post_mortem_in_markdown(
    andon: InProcessAndon, tmp_path: Path
) -> None:
    stoppage_id = _seed(andon, investments=INVESTMENTS)
    env = andon_env(tmp_path, database_url=andon.settings.andon_database_url, slack=None)

    printed = run_cli(["whys", "export", str(stoppage_id)], env=env, cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    text = printed.stdout
    assert text.startswith("# Post-mortem: stoppage #1 — sign-up is broken\n")
    assert "| Opened | 2026-11-26 14:00 UTC by maria |" in text
    assert "| Severity | minor — about an hour per level |" in text
    assert "| Five whys | done 2026-11-26 14:00 UTC |" in text
    assert "- 2026-11-26 14:00 UTC — maria: sign-up is broken" in text
    assert "1. **Why 1: why did “sign-up is broken” happen?**" in text
    assert f"   {WHYS[0]} — maria, 2026-11-26 14:00 UTC" in text
    assert "| 1 | add a smoke test for sign-up | maria | 2026-12-01 | tests/CI | open |" in text
    assert "| 3 | none: the deploy did exactly what it should | — | — | — | none |" in text
    assert "| 4 | the review checklist asks for a payments fake | carol |" in text

    out = tmp_path / "postmortem.md"
    written = run_cli(
        ["whys", "export", str(stoppage_id), "--out", str(out)], env=env, cwd=tmp_path
    )
    assert written.returncode == 0, written.stderr
    assert out.read_text().split("_Exported")[0] == text.split("_Exported")[0]

    missing = run_cli(["whys", "export", "99"], env=env, cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "andon: There is no stoppage #99."


# --- the form ---------------------------------------------------------------------------------


def _submit(andon: InProcessAndon, stoppage_id: int, fields: dict[int, str]) -> dict[str, Any]:
    values = {
        f"level_{level}": {
            "investment": {"type": "plain_text_input", "value": fields.get(level) or None}
        }
        for level in range(1, LEVELS + 1)
    }
    body, kind = view_submission(
        "whys_form", values, user="U0JOE", name="joe", private_metadata=str(stoppage_id)
    )
    answer = andon.slack_post(body, kind)
    assert answer.status_code == 200, answer.text
    andon.deliver()
    return answer.json() if answer.text else {}


def test_the_form_button_opens_a_modal_with_one_field_per_level(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    stoppage_id = _seed(andon, investments="2: alert on sign-ups <@U0JOE|joe> due 2026-12-10")
    trigger = fresh_trigger_id()
    body, kind = block_action(
        "whys_form",
        str(stoppage_id),
        user="U0JOE",
        name="joe",
        response_url=fake_slack.response_url("form"),
        trigger_id=trigger,
    )
    assert andon.slack_post(body, kind).status_code == 200
    opened = fake_slack.wait_for("views.open")[-1].params
    assert opened["trigger_id"] == trigger  # the press's own: it opens the modal once
    view = opened["view"]
    assert (view["callback_id"], view["private_metadata"]) == ("whys_form", str(stoppage_id))
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == [f"level_{n}" for n in range(1, 6)]
    assert all(b["optional"] for b in inputs)
    assert inputs[0]["label"]["text"] == f"Level 1: {WHYS[0]}"
    assert inputs[0]["hint"]["text"] == (
        "an action @owner due fri (or YYYY-MM-DD) #category, or none: <why>"
    )
    assert inputs[0]["element"]["placeholder"]["text"].endswith("due fri #tests")
    assert inputs[1]["element"]["initial_value"] == (
        "alert on sign-ups <@U0JOE|joe> due 2026-12-10 #alerting"
    )
    assert "initial_value" not in inputs[0]["element"]


def test_a_submitted_form_records_every_level_and_finishes_the_analysis(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    stoppage_id = _seed(andon)
    thread_ts = andon.api(f"/api/stoppages/{stoppage_id}")["thread_ts"]
    answer = _submit(
        andon,
        stoppage_id,
        {
            1: "add a contract test for payments due 2026-12-04",
            2: "write a payments fake <@U0ANA|ana> #tests",
            3: "none: the checklist is the real gap",
            4: "add a dependency checklist to the review template",
            5: "none: covered by level 4",
        },
    )
    assert answer == {}  # an empty ack closes the modal
    stoppage = andon.api(f"/api/stoppages/{stoppage_id}")
    items = {i["level"]: i for i in stoppage["investments"]}
    assert sorted(items) == [1, 2, 3, 4, 5]
    assert (items[1]["owner"], items[1]["due"]) == ("U0JOE", "2026-12-04")
    assert (items[2]["owner"], items[2]["due"]) == ("U0ANA", "2026-12-03")  # a week from today
    assert items[3]["status"] == "none" and items[4]["category"] == "commit check"
    assert stoppage["whys"]["open_level"] == 7
    assert _thread(fake_slack, thread_ts)[-1].startswith(f"Five whys of stoppage #{stoppage_id}")
    audit = [e for e in andon.api("/api/audit")["entries"] if e["action"] == "whys.form"]
    assert [(e["actor"]["id"], e["outcome"]) for e in audit] == [("U0JOE", "ok")]


def test_an_invalid_field_answers_errors_and_records_nothing(andon: InProcessAndon) -> None:
    stoppage_id = _seed(andon)
    answer = _submit(
        andon,
        stoppage_id,
        {1: "add a contract test for payments", 2: "none", 4: "a checklist #bogus"},
    )
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"level_2", "level_4"}
    assert answer["errors"]["level_2"] == "2: none needs a reason — `2: none: <why>`"
    assert answer["errors"]["level_4"].startswith("#bogus is not a category")
    assert andon.api(f"/api/stoppages/{stoppage_id}")["investments"] == []

    assert _submit(andon, stoppage_id, {})["errors"] == {"level_1": "Fill in at least one level."}


def test_the_form_waits_for_the_fifth_why(andon: InProcessAndon) -> None:
    stoppage_id = _seed(andon, phase=Phase.WHY_3)
    answer = _submit(andon, stoppage_id, {2: "write a payments fake"})
    assert answer["errors"] == {
        "level_2": (
            f"Why 3 of stoppage #{stoppage_id} is still open: answer the five whys in the "
            "thread first, then invest."
        )
    }
    assert andon.api(f"/api/stoppages/{stoppage_id}")["investments"] == []
