"""Every cause of a stoppage is seen: a page that arrives while the line is already stopped has
its own post in the channel, named after the system that sent it and linked from the thread;
the stop announcement is updated as causes join; why 1 and the five-whys summary name them all.
Driven through the in-process Andon (real HTTP doors, the fake Slack); what people read there
is asserted."""

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from core.clock import ManualClock
from tests.ci_payloads import signature
from tests.fakes.slack import Call, FakeSlack
from tests.harness import CHANNEL
from tests.inprocess import InProcessAndon
from tests.slack_requests import thread_reply

T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # a Thursday
ONCALL = "U0ONE"
CONFIG = f"""
[slack]
channel = "{CHANNEL}"
[oncall]
rotation = ["{ONCALL}"]
handoff = "mon 09:00"
"""
FIXTURES = Path(__file__).parent / "fixtures" / "alertmanager"
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


def _alert(andon: InProcessAndon, provider: str, payload: Any) -> None:
    body = json.dumps(payload).encode()
    answer = requests.post(
        f"{andon.url}/hooks/alerts/{provider}",
        data=body,
        headers={"Content-Type": "application/json", "X-Andon-Signature": signature(body)},
        timeout=10,
    )
    assert answer.status_code in (200, 202), answer.text
    andon.deliver()


def _say(andon: InProcessAndon, thread: str, text: str) -> None:
    body, kind = thread_reply(
        text, user="U0MARIA", thread_ts=thread, event_id=f"EvC{next(_events):06d}"
    )
    assert andon.slack_post(body, kind).status_code == 200
    andon.deliver()


def _posts(slack: FakeSlack) -> list[Call]:
    """What the channel shows as its own posts (not thread replies), oldest first."""
    return [
        c
        for c in slack.calls("chat.postMessage")
        if c.params["channel"] == CHANNEL and not c.params.get("thread_ts")
    ]


def _thread(slack: FakeSlack, thread: str) -> list[Call]:
    return [c for c in slack.calls("chat.postMessage") if c.params.get("thread_ts") == thread]


def _shown(call: Call) -> str:
    return json.dumps(call.params.get("blocks"), ensure_ascii=False)


def _updates_of(slack: FakeSlack, ts: str) -> list[Call]:
    return [c for c in slack.calls("chat.update") if c.params.get("ts") == ts]


def _permalink(ts: str) -> str:
    return f"https://andon-test.slack.com/archives/{CHANNEL}/p{ts.replace('.', '')}"


def _ts(slack: FakeSlack, call: Call) -> str:
    """The ts Slack gave a post: the fake numbers them in the order it answered."""
    index = slack.calls().index(call)
    return next(c for c in slack.calls()[index + 1 :] if c.method == "chat.getPermalink").params[
        "message_ts"
    ]


def test_a_page_while_the_line_is_stopped_has_its_own_post_linked_from_the_thread(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    _slash(andon, "/line", "stop CI is red on main")
    thread = andon.api("/api/line")["stoppage"]["thread_ts"]

    _alert(andon, "alertmanager", json.loads((FIXTURES / "firing.json").read_text()))

    posts = _posts(fake_slack)
    assert [p.params["text"].split(":")[0] for p in posts] == [
        "Line stopped by maria",
        f"Alertmanager paged <@{ONCALL}>",
    ]
    page_post = posts[1]
    assert "InstanceDown" in page_post.params["text"]
    assert "another cause of stoppage #1" in _shown(page_post)
    replies = _thread(fake_slack, thread)
    added = [r for r in replies if "added a cause" in r.params["text"]]
    assert [r.params["text"] for r in added] == [
        "Alertmanager added a cause: page: InstanceDown — Instance localhost:8081 down "
        "(and 1 more alert)"
    ]
    link = f"<{_permalink(_ts(fake_slack, page_post))}|its own post in the channel>"
    assert link in _shown(added[0])
    assert "generic" not in _shown(added[0]) + _shown(page_post)


def test_one_delivery_that_opens_several_pages_while_stopped_is_one_post(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    _slash(andon, "/line", "stop CI is red on main")
    body = json.loads((FIXTURES / "firing.json").read_text())
    del body["groupKey"]  # two alert names and no group key: a page each
    body["alerts"][1]["labels"]["alertname"] = "DiskFull"
    _alert(andon, "alertmanager", body)

    posts = _posts(fake_slack)
    assert len(posts) == 2
    assert posts[1].params["text"] == "Alertmanager paged: 2 new pages, the first InstanceDown"
    assert "InstanceDown" in _shown(posts[1]) and "DiskFull" in _shown(posts[1])


@pytest.mark.parametrize(
    ("fields", "sender"), [({}, "monitoring"), ({"source": "Datadog"}, "Datadog")]
)
def test_a_generic_page_is_named_by_its_sender_or_monitoring(
    andon: InProcessAndon, fake_slack: FakeSlack, fields: dict[str, str], sender: str
) -> None:
    _slash(andon, "/line", "stop CI is red on main")
    thread = andon.api("/api/line")["stoppage"]["thread_ts"]
    payload = {"name": "signups_low", "status": "firing", "summary": "no sign-ups", **fields}
    _alert(andon, "generic", payload)

    assert _posts(fake_slack)[-1].params["text"].startswith(f"{sender} paged <@{ONCALL}>")
    added = [r.params["text"] for r in _thread(fake_slack, thread)][-1]
    assert added == f"{sender} added a cause: page: signups_low — no sign-ups"
    causes = andon.api("/api/line")["stoppage"]["causes"]
    assert causes[1]["by"]["name"] == sender


def test_a_concurrent_stop_is_seen_in_the_announcement_why_1_and_the_summary(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    _slash(andon, "/line", "stop CI is red on main")
    _slash(andon, "/line", "stop the disk is full on web1", user="U0BOB")
    thread = andon.api("/api/line")["stoppage"]["thread_ts"]

    announcement = _updates_of(fake_slack, thread)[-1]
    assert announcement.params["text"] == (
        "Line stopped by maria: CI is red on main (+1 more cause)"
    )
    assert "the disk is full on web1" in _shown(announcement) and "<@U0BOB>" in _shown(announcement)
    added = _thread(fake_slack, thread)[-1]
    assert "Why 1: why did “CI is red on main” and “the disk is full on web1” happen?" in _shown(
        added
    )

    for n in range(1, 6):
        _say(andon, thread, f"because answer {n}")
    assert _thread(fake_slack, thread)[2].params["text"] == "Why 2: why “answer 1”?"
    _say(andon, thread, "\n".join(f"{n}: none: small enough" for n in range(1, 6)))
    summary = _thread(fake_slack, thread)[-1]
    assert summary.params["text"] == (
        "Five whys of stoppage #1 done: CI is red on main (+1 more cause)"
    )
    assert summary.params["reply_broadcast"] is True
    assert "*Causes*" in _shown(summary) and "the disk is full on web1" in _shown(summary)
    assert not [p for p in _posts(fake_slack) if p.params["text"].startswith("Five whys")]


def test_a_stop_announcement_lists_the_first_causes_then_counts_the_rest(
    andon: InProcessAndon, fake_slack: FakeSlack
) -> None:
    _slash(andon, "/line", "stop CI is red on main")
    for n in range(1, 9):
        _slash(andon, "/line", f"stop another reason {n}", user=f"U0P{n:04d}")
    thread = andon.api("/api/line")["stoppage"]["thread_ts"]
    announcement = _updates_of(fake_slack, thread)[-1]
    assert announcement.params["text"].endswith("(+8 more causes)")
    shown = _shown(announcement)
    assert "another reason 5" in shown and "another reason 6" not in shown
    assert "… and 3 more: `/line status` and the thread list every cause." in shown
