"""A release is a deploy too, on the pager: a flag ramped through ``/flag`` shortly before an
Alertmanager page is among the page's suspects with a *Turn off* button; pressing it turns the
flag off (announced, audited, while the line is stopped) and the page says who did; the five
whys opens on the flag change; the weekly digest counts releases beside deploys.

Driven as people do it: signed slash commands and button presses to the in-process front, the
webhook signed as Alertmanager's, the fake Slack's messages read as people read them."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from core.clock import ManualClock
from core.flags import records
from tests.ci_payloads import signature
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL
from tests.inprocess import InProcessAndon
from tests.slack_requests import block_action, slash_command

FIRING = Path(__file__).parent / "fixtures" / "alertmanager" / "firing.json"
T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # a Thursday
ONE = "U0ONE"
CONFIG = f"""
[slack]
channel = "{CHANNEL}"
[oncall]
rotation = ["{ONE}"]
handoff = "mon 09:00"
"""
HOSTILE = "<!channel> *new* checkout & <https://evil.example|click>"


@pytest.fixture
def andon(tmp_path: Path, fake_slack: FakeSlack, database_url: str) -> Iterator[InProcessAndon]:
    fake_slack.forget()
    running = InProcessAndon(
        tmp_path, config=CONFIG, slack=fake_slack, clock=ManualClock(T0), database_url=database_url
    ).start()
    yield running
    running.stop()


def test_a_page_after_a_flag_ramp_offers_to_turn_it_off_and_the_whys_names_it(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    andon.slash("/flag", f"create checkout.v2 {HOSTILE}")
    andon.slash("/flag", "ramp checkout.v2 30%")
    andon.clock.advance(timedelta(minutes=40))  # outside the 30 min watch: not a suspect
    andon.slash("/flag", "ramp checkout.v2 60%")
    andon.slash("/flag", "create search.v2")  # never turned on: no suspect, no button
    andon.clock.advance(timedelta(minutes=4))
    _alertmanager(andon)

    page = _dm(fake_slack)
    shown = json.dumps(page["blocks"], ensure_ascii=False)
    assert "Flags turned on or up shortly before" in shown
    assert "`checkout.v2` ramped 30% → 60% in production by <@U0MARIA>, 4 min ago" in shown
    assert "0% → 30%" not in shown and "search.v2" not in shown
    assert _button(page, "Turn off checkout.v2")["value"] == "production checkout.v2"
    assert "evil.example" not in shown  # a flag's description is never in a page

    opened = _thread_opened(fake_slack)
    assert "within 4 min of `checkout.v2` ramped 30% → 60% in production by @maria" in opened

    _press_turn_off(andon, "production checkout.v2", answer="checkout.v2")
    assert _percentage(andon, "checkout.v2") == 0
    updated = fake_slack.wait_for("chat.update", lambda p: p["channel"] == "D0ONE")[-1].params
    again = json.dumps(updated["blocks"], ensure_ascii=False)
    assert "ramped 30% → 60% in production by <@U0MARIA>, 4 min ago" in again
    assert "turned off by <@U0ONE>" in again
    assert not any(b["text"]["text"].startswith("Turn off") for b in _buttons(updated))
    said = [c.params["text"] for c in fake_slack.calls("chat.postMessage")]
    assert any("checkout.v2" in text and "60% → 0%" in text for text in said), said

    _press_turn_off(andon, "production checkout.v2", answer="already at 0%")  # a stale button
    changes = [
        e for e in andon.api("/api/audit?limit=100")["entries"] if e["action"] == "flag.change"
    ]
    pressed = [(e["detail"], e["outcome"]) for e in changes if e["actor"]["id"] == ONE]
    assert sorted(pressed) == [  # audited both: the kill switch, and the stale press refused
        ("checkout.v2 in production: 0% → 0%", "refused"),
        ("checkout.v2 in production: 60% → 0%", "ok"),
    ]
    assert "Releases (flags turned on or up): 2 (+2)" in _digest(andon)


# --- the steps -------------------------------------------------------------------------------


def _alertmanager(andon: InProcessAndon) -> None:
    body = FIRING.read_bytes()
    answer = requests.post(
        f"{andon.url}/hooks/alerts/alertmanager",
        data=body,
        headers={"Content-Type": "application/json", "X-Andon-Signature": signature(body)},
        timeout=10,
    )
    assert answer.status_code in (200, 202), answer.text
    andon.deliver()


def _press_turn_off(andon: InProcessAndon, value: str, *, answer: str) -> None:
    """The person paged presses *Turn off*; Slack shows them the answer."""
    body, kind = block_action(
        "flag_off", value, user=ONE, name="one", response_url=andon.slack.response_url("off")
    )
    assert andon.slack_post(body, kind).status_code == 200
    andon.slack.wait_for("response_url", lambda p: answer in json.dumps(p, ensure_ascii=False))
    andon.deliver()


def _dm(slack: FakeSlack) -> dict[str, Any]:
    dms = [c.params for c in slack.calls("chat.postMessage") if c.params["channel"] == "D0ONE"]
    pages = [dm for dm in dms if "Acknowledge" in json.dumps(dm.get("blocks"))]
    assert pages, dms
    return pages[-1]


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        element
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def _button(message: dict[str, Any], label: str) -> dict[str, Any]:
    found = [b for b in _buttons(message) if b["text"]["text"] == label]
    assert found, _buttons(message)
    return found[0]


def _thread_opened(slack: FakeSlack) -> str:
    """The five whys' first message, in the stoppage's thread."""
    opened = slack.wait_for(
        "chat.postMessage",
        lambda p: bool(p.get("thread_ts")) and "This thread is its five whys" in json.dumps(p),
    )
    return json.dumps(opened[0].params, ensure_ascii=False)


def _percentage(andon: InProcessAndon, key: str) -> int:
    with andon.andon.database.reading() as session:
        flag = records.views(session, environments=("production",), key=key)[0]
    return flag.rollouts[0].percentage


def _digest(andon: InProcessAndon) -> str:
    """``/digest`` typed in Slack: the answer's blocks, as the person reads them."""
    body, kind = slash_command(
        "/digest", "", user="U0MARIA", name="maria", response_url=andon.slack.response_url()
    )
    answer = andon.slack_post(body, kind)
    assert answer.status_code == 200, answer.text
    return json.dumps(answer.json()["blocks"], ensure_ascii=False)
