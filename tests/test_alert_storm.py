"""An alert storm is contained, through a running ``andon serve`` and the strict fake Slack.

One signed Alertmanager POST of 2,000 fingerprints once opened 2,000 pages in one transaction
and sent thousands of messages. Now the alerts of one group are one page that lists them,
updated in place as alerts join and leave; new pages are capped per delivery and per minute,
what the caps hold is recorded and told once; an escalation round says many pages in one
message with one ``@here``; and ``/line status`` is answered while a storm is recorded.
"""

import copy
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from core.clock import ManualClock
from tests.fakes.slack import Call, FakeSlack
from tests.harness import CHANNEL, WEBHOOK_SECRET, AndonServer
from tests.inprocess import InProcessAndon
from tests.slack_requests import block_action, slash_command
from tests.waiting import eventually

FIXTURE = Path(__file__).parent / "fixtures" / "alertmanager" / "firing.json"
BEARER = {"Content-Type": "application/json", "Authorization": f"Bearer {WEBHOOK_SECRET}"}
ONE, TWO = "U0ONE", "U0TWO"
FEW_DOZEN = 40  # Slack calls a storm may cost, whatever its size
ONCALL = f"""
[slack]
channel = "{CHANNEL}"
[oncall]
rotation = ["{ONE}"]
repeat = "1h"
ack_timeout = "1h"
"""


def alerts_body(
    alerts: list[tuple[str, str]], *, group: str | None = None, status: str = "firing"
) -> dict[str, Any]:
    """An Alertmanager webhook (version 4) of ``(alertname, instance)`` alerts; with ``group``
    it carries that ``groupKey``, as Alertmanager does, without it none (a hostile sender)."""
    fixture = json.loads(FIXTURE.read_text())
    body = copy.deepcopy(fixture)
    body["alerts"] = []
    for name, instance in alerts:
        alert = copy.deepcopy(fixture["alerts"][0])
        alert["labels"] = {"alertname": name, "instance": instance, "severity": "critical"}
        alert["annotations"] = {"title": f"{name} on {instance}"}
        alert["fingerprint"] = f"{name}-{instance}"[:60]
        alert["status"] = status
        body["alerts"].append(alert)
    body["status"] = status
    if group is None:
        del body["groupKey"]
    else:
        body["groupKey"] = group
    return body


def post(server: AndonServer, body: dict[str, Any]) -> dict[str, Any]:
    answer = requests.post(
        f"{server.url}/hooks/alerts/alertmanager",
        data=json.dumps(body).encode(),
        headers=BEARER,
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def drained(server: AndonServer, timeout: float = 60.0) -> None:
    """Every message queued so far has reached the fake Slack (the outbox has none pending)."""

    def pending() -> str | None:
        metrics = requests.get(server.url + "/metrics", timeout=10).text
        found = re.search(r'^andon_outbox_messages\{status="pending"\} (\S+)$', metrics, re.M)
        return found and found.group(1)

    eventually(
        lambda: (count := pending()) is not None and float(count) == 0,
        timeout=timeout,
        what=lambda: f"no message pending (pending: {pending()})",
    )


def dms(slack: FakeSlack, user: str) -> list[dict[str, Any]]:
    channel = "D" + user[1:]  # the fake opens ``D…`` for ``U…``
    return [
        c.params
        for c in slack.calls("chat.postMessage")
        if c.params["channel"] == channel and not c.params["text"].startswith("You are on call")
    ]


def channel_posts(slack: FakeSlack) -> list[dict[str, Any]]:
    return [c.params for c in slack.calls("chat.postMessage") if c.params["channel"] == CHANNEL]


def pages(server: AndonServer) -> list[dict[str, Any]]:
    return server.api("/api/pages?limit=500").json()["pages"]


def shown_blocks(blocks: list[dict[str, Any]]) -> str:
    """What the blocks say, as Slack shows them (no ``\\u2026`` for "…")."""
    return json.dumps(blocks, ensure_ascii=False)


def shown(calls: list[Call]) -> str:
    return "\n".join(f"{c.method}: {str(c.params.get('text', ''))[:80]}" for c in calls)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:  # a Slack of its own: every call it hears is this test's
        yield fake


def serve(tmp_path: Path, database_url: str, slack: FakeSlack, config: str) -> AndonServer:
    return AndonServer(tmp_path, database_url=database_url, slack=slack, config=config).start()


# One request, two thousand alerts --------------------------------------------------------------


def _assert_the_held_told_once_without_here(slack: FakeSlack) -> None:
    """The channel is told once what the caps held, and nobody is called with ``@here``."""
    told = channel_posts(slack)
    held = [p["text"] for p in told if p["text"].startswith("Alert storm")]
    assert held == [
        "Alert storm: 5 new pages (400 alerts) held, not paged — over 20 new pages per "
        "delivery or 60 a minute"
    ]
    assert not any("@here" in p["text"] or "<!here>" in json.dumps(p) for p in told)


def _assert_twenty_open_and_five_held(server: AndonServer) -> None:
    """The storm's 25 groups are 25 pages of 80 alerts: the first 20 open, the last 5 held."""
    recorded = pages(server)
    assert len(recorded) == 25 and all(len(p["alerts"]) == 80 for p in recorded)
    statuses = sorted((p["status"], p["held_for"]) for p in recorded)
    assert statuses == [("held", "storm")] * 5 + [("open", None)] * 20
    held_pages = server.api("/api/pages?status=held").json()["pages"]
    assert [p["name"] for p in held_pages] == [f"Storm{n}" for n in range(24, 19, -1)]
    held_event = held_pages[0]["events"][0]
    assert (held_event["kind"], held_event["detail"]) == (
        "held",
        "storm: over 20 new pages in one delivery",
    )


def test_two_thousand_fingerprints_in_one_post_page_once_per_group_and_the_held_are_told_once(
    tmp_path: Path, database_url: str, slack: FakeSlack
) -> None:
    server = serve(tmp_path, database_url, slack, ONCALL)
    try:
        names = [f"Storm{n:02d}" for n in range(25)]  # no groupKey: grouped by alert name
        storm = [(names[k % 25], f"node-{k:04d}:9100") for k in range(2_000)]
        answer = post(server, alerts_body(storm))
        assert answer == {"alerts": 2000, "paged": 20, "updated": 0, "held": 400, "unchanged": 0}
        drained(server)

        calls = slack.calls()
        assert len(calls) <= FEW_DOZEN, shown(calls)
        paged = dms(slack, ONE)
        assert len(paged) == 20  # the per-request cap: 20 new pages, one DM each
        first = paged[0]
        assert first["text"] == (
            "Storm00 (critical) — page #1 · 80 alerts firing: Storm00 on node-0000:9100 and 79 more"
        )
        blocks = shown_blocks(first["blocks"])
        assert "Storm00 on node-0025:9100" in blocks
        assert "… and 70 more: `GET /api/pages` lists every alert of page #1." in blocks

        _assert_the_held_told_once_without_here(slack)
        _assert_twenty_open_and_five_held(server)
        line = server.api("/api/line").json()
        assert line["state"] == "stopped" and len(line["stoppage"]["causes"]) == 20
        audited = server.api("/api/audit?limit=20").json()["entries"]
        delivery = next(e for e in audited if e["action"] == "alerts")
        assert delivery["message"] == (
            "20 paged, 0 updated, 400 held, 0 unchanged; 5 new page(s) held by the storm limits"
        )
    finally:
        server.stop()


def test_a_group_of_two_thousand_alerts_is_one_page_that_lists_them(
    tmp_path: Path, database_url: str, slack: FakeSlack
) -> None:
    server = serve(tmp_path, database_url, slack, ONCALL)
    try:
        group = [("InstanceDown", f"node-{k:04d}:9100") for k in range(2_000)]
        body = alerts_body(group, group='{}:{alertname="InstanceDown"}')
        assert post(server, body)["paged"] == 1
        again = post(server, body)  # Alertmanager re-sends the group: nothing changes
        assert (again["paged"], again["unchanged"]) == (0, 2000)
        drained(server)

        calls = slack.calls()
        assert len(calls) <= 10, shown(calls)
        (page,) = dms(slack, ONE)
        assert page["text"].startswith("InstanceDown (critical) — page #1 · 2,000 alerts firing")
        assert "… and 1,990 more: `GET /api/pages`" in shown_blocks(page["blocks"])
        (recorded,) = pages(server)
        assert len(recorded["alerts"]) == 2000 and recorded["firing"] == 2000
    finally:
        server.stop()


# A group's page lives with its alerts --------------------------------------------------------


def test_alerts_joining_and_leaving_a_group_update_its_page_and_the_last_resolve_resolves_it(
    tmp_path: Path, database_url: str, slack: FakeSlack
) -> None:
    server = serve(tmp_path, database_url, slack, ONCALL)
    group = '{}:{alertname="HighLatency"}'
    a, b, c = (("HighLatency", f"web{n}:443") for n in (1, 2, 3))
    try:
        assert post(server, alerts_body([a, b], group=group))["paged"] == 1
        slack.wait_for("chat.postMessage", lambda p: "2 alerts firing" in p.get("text", ""))

        joined = post(server, alerts_body([a, b, c], group=group))
        assert (joined["paged"], joined["updated"], joined["unchanged"]) == (0, 1, 2)
        slack.wait_for("chat.update", lambda p: "3 alerts firing" in p.get("text", ""))

        left = post(server, alerts_body([a], group=group, status="resolved"))
        assert left["updated"] == 1
        (update,) = slack.wait_for(
            "chat.update", lambda p: "2 of 3 alerts firing" in p.get("text", "")
        )
        assert "~HighLatency on web1:443~ (resolved)" in shown_blocks(update.params["blocks"])
        assert pages(server)[0]["status"] == "open"

        post(server, alerts_body([b, c], group=group, status="resolved"))
        slack.wait_for("chat.update", lambda p: "resolved by Alertmanager" in p.get("text", ""))
        (page,) = pages(server)
        assert page["status"] == "resolved" and page["firing"] == 0
        assert len(dms(slack, ONE)) == 1  # one DM, updated in place throughout
        kinds = [e["kind"] for e in page["events"]]
        assert kinds == ["paged", "alerts", "alerts", "alerts", "resolved"]
    finally:
        server.stop()


# The caps ------------------------------------------------------------------------------------

CAPPED = ONCALL + "[alerts]\nmax_new_pages_per_request = 3\nmax_new_pages_per_minute = 5\n"


def test_new_pages_are_capped_per_request_and_per_minute_and_resolves_never_are(
    tmp_path: Path, database_url: str, slack: FakeSlack
) -> None:
    server = serve(tmp_path, database_url, slack, CAPPED)
    first = [(f"Capped{n}", "web1:443") for n in range(1, 5)]
    second = [(f"Capped{n}", "web1:443") for n in range(5, 9)]
    try:
        one = post(server, alerts_body(first))
        assert (one["paged"], one["held"]) == (3, 1)  # three a delivery
        two = post(server, alerts_body(second))
        assert (two["paged"], two["held"]) == (2, 2)  # five a minute: two were left

        again = post(server, alerts_body([first[0], ("Capped1", "web2:443")]))
        assert again == {"alerts": 2, "paged": 0, "updated": 1, "held": 0, "unchanged": 1}

        every = [*first, *second, ("Capped1", "web2:443")]
        gone = post(server, alerts_body(every, status="resolved"))
        assert (gone["paged"], gone["updated"], gone["held"]) == (0, 9, 0)
        assert {p["status"] for p in pages(server)} == {"resolved"}
        drained(server)

        told = [p for p in channel_posts(slack) if p["text"].startswith("Alert storm")]
        assert len(told) == 1 and told[0]["text"].startswith("Alert storm: 1 new pages")
        # the second delivery's holds are added to the same message, in place
        slack.wait_for(
            "chat.update",
            lambda p: p.get("text", "").startswith("Alert storm: 3 new pages (3 alerts)"),
            timeout=30,
        )
        held = sorted(
            e["detail"] for p in pages(server) for e in p["events"] if e["kind"] == "held"
        )
        assert held == [
            "storm: over 3 new pages in one delivery",
            "storm: over 5 new pages a minute",
            "storm: over 5 new pages a minute",
        ]
    finally:
        server.stop()


def test_a_held_page_is_paged_when_its_alert_comes_again_and_there_is_room(
    tmp_path: Path, database_url: str, slack: FakeSlack
) -> None:
    config = ONCALL + "[alerts]\nmax_new_pages_per_request = 2\n"
    server = serve(tmp_path, database_url, slack, config)
    storm = [(f"Held{n}", "web1:443") for n in range(1, 4)]
    try:
        assert post(server, alerts_body(storm))["paged"] == 2
        assert post(server, alerts_body(storm[2:]))["paged"] == 1  # sent again, room now
        slack.wait_for("chat.postMessage", lambda p: p.get("text", "").startswith("Held3"))
        page = next(p for p in pages(server) if p["name"] == "Held3")
        assert page["status"] == "open" and page["held_for"] is None
        # the line was stopped by the first two: it joins that stoppage, with its own post
        assert [e["kind"] for e in page["events"]] == ["held", "paged", "joined"]
    finally:
        server.stop()


# Slash commands during a storm ---------------------------------------------------------------


def test_line_status_is_answered_while_a_storm_is_recorded(
    tmp_path: Path, database_url: str, slack: FakeSlack
) -> None:
    server = serve(tmp_path, database_url, slack, ONCALL)
    storm = [(f"Busy{k % 100:03d}", f"node-{k:04d}:9100") for k in range(2_000)]
    answers: list[dict[str, Any]] = []
    finished = threading.Event()

    def send() -> None:
        try:
            answers.append(post(server, alerts_body(storm)))
        finally:
            finished.set()

    def status() -> str:
        body, kind = slash_command(
            "/line", "status", user="U0MARIA", name="maria", response_url=slack.response_url()
        )
        answer = server.slack_post(body, kind)
        assert answer.status_code == 200, answer.text
        return answer.json()["text"]

    try:
        sender = threading.Thread(target=send)
        sender.start()
        during = []
        while not finished.is_set() or not during:
            during.append(status())
        sender.join(timeout=60)
        assert answers and answers[0]["paged"] == 20
        assert all(
            said.startswith(("The line has been running since", "The line has been stopped since"))
            for said in during
        ), during
        assert status().startswith("The line has been stopped since")
    finally:
        server.stop()


# Escalation rounds ---------------------------------------------------------------------------

T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # a Thursday
ROUNDS = f"""
[slack]
channel = "{CHANNEL}"
[oncall]
rotation = ["{TWO}", "{ONE}"]  # counted from 2024's first handoff: {ONE} has this week
handoff = "mon 09:00"
repeat = "2m"
ack_timeout = "5m"
"""


@pytest.fixture
def rounds(tmp_path: Path, database_url: str, slack: FakeSlack) -> Iterator[InProcessAndon]:
    running = InProcessAndon(
        tmp_path, config=ROUNDS, slack=slack, clock=ManualClock(T0), database_url=database_url
    ).start()
    yield running
    running.stop()


def test_an_escalation_round_says_its_pages_in_one_message_with_one_here(
    rounds: InProcessAndon, slack: FakeSlack
) -> None:
    body = alerts_body([(f"Round{n}", "web1:443") for n in range(1, 13)])
    requests.post(
        f"{rounds.url}/hooks/alerts/alertmanager",
        data=json.dumps(body).encode(),
        headers=BEARER,
        timeout=30,
    ).raise_for_status()
    rounds.deliver()
    assert len(dms(slack, ONE)) == 12

    def tick(minutes: int) -> None:
        rounds.clock.advance(timedelta(minutes=minutes))
        rounds.andon.tick_pages()
        rounds.deliver()

    tick(2)  # a repeat of twelve pages: one DM
    reminder = dms(slack, ONE)[-1]
    assert reminder["text"].startswith("Still firing, not acknowledged: 12 pages")
    assert "… and 2 more: `GET /api/pages` lists every page." in shown_blocks(reminder["blocks"])
    tick(3)  # five minutes: the next person, one DM
    (escalated,) = dms(slack, TWO)
    assert escalated["text"].startswith("12 pages escalated to you")
    tick(5)  # ten minutes: the channel, one @here
    heres = [p for p in channel_posts(slack) if "<!here>" in json.dumps(p)]
    assert len(heres) == 1
    assert heres[0]["text"].startswith("@here 12 pages unacknowledged")

    body, kind = block_action(
        "page_ack:1", "2", user=TWO, name="two", response_url=slack.response_url("ack")
    )
    assert rounds.slack_post(body, kind).status_code == 200
    slack.wait_for("response_url", lambda p: "You acknowledged page #2" in p.get("text", ""))
    tick(2)  # the next round repeats the eleven left to whoever has them: one DM
    assert dms(slack, TWO)[-1]["text"].startswith("Still firing, not acknowledged: 11 pages")
    assert sum("<!here>" in json.dumps(p) for p in channel_posts(slack)) == 1
