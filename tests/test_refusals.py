"""No page is ever lost: a running ``andon serve`` whose Slack refuses messages.

A message Slack refuses as invalid is sent again once in its minimal form — its text, and for a
page its *Acknowledge* button, which still acknowledges. A page DM that cannot be delivered at
all goes to the next person in the rotation and the channel hears why; when nobody is left, the
channel hears it once. Every refusal is logged at ERROR with the outbox id and counted on
``/metrics``. Alerts arrive as signed generic webhooks; Slack is the fake, told to refuse.
"""

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlmodel import select

from bot.render.kit import clip
from storage.database import Database
from storage.tables import OutboxMessage
from tests.ci_payloads import signature
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, AndonServer
from tests.slack_requests import block_action, slash_command
from tests.waiting import eventually

ONE, TWO = "U0ONE", "U0TWO"
CONFIG = f"""
[slack]
channel = "{CHANNEL}"
[oncall]
rotation = ["{ONE}", "{TWO}"]
handoff = "mon 09:00"
repeat = "1h"
ack_timeout = "1h"
"""
LONG = "Signups are below 1/min on every region; " * 90  # 3,690 characters: more than a section


@dataclass
class Line:
    """A running Andon, its Slack, and who the rotation has on call now and next."""

    server: AndonServer
    slack: FakeSlack
    database_url: str
    oncall: str
    following: str

    def dms(self, user: str) -> list[dict[str, Any]]:
        channel = "D" + user[1:]  # the fake opens D… for U…
        return [
            c.params for c in self.slack.calls("chat.postMessage") if c.params["channel"] == channel
        ]

    def channel(self) -> list[str]:
        calls = self.slack.calls("chat.postMessage")
        return [c.params["text"] for c in calls if c.params["channel"] == CHANNEL]

    def alert(self, name: str, summary: str) -> None:
        body = json.dumps({"name": name, "status": "firing", "summary": summary}).encode()
        answer = requests.post(
            f"{self.server.url}/hooks/alerts/generic",
            data=body,
            headers={"Content-Type": "application/json", "X-Andon-Signature": signature(body)},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text

    def metric(self, name: str, **labels: str) -> float:
        text = requests.get(self.server.url + "/metrics", timeout=5).text
        shown = ",".join(f'{key}="{value}"' for key, value in labels.items())
        found = re.search(rf"^{re.escape(name)}{{{re.escape(shown)}}} (\S+)$", text, re.M)
        return float(found.group(1)) if found else 0.0

    def counted(self, minimum: float, name: str, timeout: float = 10.0, **labels: str) -> float:
        """The metric once it reached ``minimum``: a call is counted when its answer is read."""

        def reached() -> float | None:
            value = self.metric(name, **labels)
            return value if value >= minimum else None

        return eventually(
            reached,
            timeout=timeout,
            what=lambda: f"{name}{labels} at {minimum} (it is {self.metric(name, **labels)})",
        )

    def settled(self, timeout: float = 15.0) -> None:
        """Wait until the outbox holds nothing pending: everything queued had its answer."""
        eventually(
            lambda: self.metric("andon_outbox_messages", status="pending") == 0,
            timeout=timeout,
            what="no message pending",
        )

    def outbox(self) -> list[OutboxMessage]:
        database = Database(self.database_url)
        try:
            with database.reading() as session:
                return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))
        finally:
            database.dispose()

    def page_dm(self, user: str) -> OutboxMessage:
        (row,) = [
            r
            for r in self.outbox()
            if r.kind == "dm" and r.target == user and "page_id" in r.payload
        ]
        return row


@contextmanager
def serving(workdir: Path, slack: FakeSlack, database_url: str) -> Iterator[Line]:
    slack.heal()
    slack.forget()
    server = AndonServer(workdir, database_url=database_url, slack=slack, config=CONFIG)
    server.env["ANDON_TICK_SECONDS"] = "0.25"
    server.start()
    try:
        # the first tick tells the person on call so: their conversation is open (and kept)
        (handoff,) = slack.wait_for(
            "chat.postMessage", lambda p: p.get("text", "").startswith("You are on call now")
        )
        oncall = "U" + handoff.params["channel"][1:]
        line = Line(server, slack, database_url, oncall, TWO if oncall == ONE else ONE)
        line.settled()
        slack.forget()
        yield line
    finally:
        server.stop()
        slack.heal()


@pytest.fixture
def line(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Line]:
    with serving(tmp_path, fake_slack, f"sqlite:///{tmp_path / 'andon.db'}") as running:
        yield running


def _kinds(blocks: list[dict[str, Any]]) -> list[str]:
    return [block["type"] for block in blocks]


def _events(line: Line) -> list[tuple[str, str]]:
    page = line.server.api("/api/pages").json()["pages"][0]
    return [(e["kind"], e["detail"]) for e in page["events"]]


def test_a_page_slack_refuses_once_arrives_as_text_with_an_acknowledge_that_works(
    line: Line,
) -> None:
    line.slack.fail(
        200, error="invalid_blocks", methods={"chat.postMessage"}, count=1, where=_to_a_dm
    )
    line.alert("signups_low", LONG)

    refused, minimal = line.slack.wait_for(
        "chat.postMessage", lambda p: p["channel"] == "D" + line.oncall[1:], count=2
    )
    assert "context" in _kinds(refused.params["blocks"])  # the full page: Slack said no
    text = minimal.params["text"]
    assert text.startswith("signups_low — page #1: Signups are below 1/min")
    assert len(text) <= 3000 and text.endswith("…")
    assert refused.params["text"].startswith(text[:-1])
    section, buttons = minimal.params["blocks"]
    assert (section["type"], section["text"]["text"]) == ("section", text)
    (ack,) = buttons["elements"]
    assert (ack["text"]["text"], ack["action_id"], ack["value"]) == ("Acknowledge", "page_ack", "1")
    for call in line.slack.calls():
        assert "fallback" not in call.params and "page_id" not in call.params

    body, kind = block_action(
        ack["action_id"],
        ack["value"],
        user=line.oncall,
        name="oncall",
        response_url=line.slack.response_url("ack"),
    )
    assert line.server.slack_post(body, kind).status_code == 200
    line.slack.wait_for("response_url", lambda p: "You acknowledged page #1" in p.get("text", ""))
    line.slack.wait_for("chat.update", lambda p: "acknowledged by" in p.get("text", ""))
    page = line.server.api("/api/pages").json()["pages"][0]
    assert (page["status"], page["acked_by"]) == ("acknowledged", line.oncall)
    assert line.dms(line.following) == []

    sent = line.page_dm(line.oncall)
    assert sent.status == "sent"
    assert (
        sent.last_error == "sent in minimal form: Slack refused the full message (invalid_blocks)"
    )
    log = line.server.log()
    assert (
        f"ERROR bot.outbox.courier: message #{sent.id} refused by Slack (invalid_blocks): "
        "sent again in minimal form"
    ) in log
    assert _courier_logged(log) and not _courier_logged(log, "Signups are below")
    line.counted(1, "andon_slack_calls_total", method="chat.postMessage", outcome="refused")
    line.counted(2, "andon_slack_calls_total", method="chat.postMessage", outcome="ok")


def test_a_page_refused_even_in_minimal_form_goes_to_the_next_person_and_the_channel(
    tmp_path: Path, fake_slack: FakeSlack, database_url: str
) -> None:
    with serving(tmp_path, fake_slack, database_url) as line:
        line.slack.fail(
            200, error="invalid_blocks", methods={"chat.postMessage"}, count=2, where=_to_a_dm
        )
        line.alert("signups_low", "0 signups in 5 min")

        (paged,) = line.slack.wait_for(
            "chat.postMessage", lambda p: p["channel"] == "D" + line.following[1:]
        )
        assert paged.params["text"] == "signups_low — page #1: 0 signups in 5 min"
        assert '"action_id": "page_ack"' in json.dumps(paged.params["blocks"])
        said = (
            f"Could not reach <@{line.oncall}> for page #1 (invalid_blocks) — "
            f"paging <@{line.following}>"
        )
        line.slack.wait_for("chat.postMessage", lambda p: p.get("text") == said)
        line.settled()

        assert len(line.dms(line.oncall)) == 2  # the page, then its minimal form: both refused
        assert line.page_dm(line.oncall).status == "failed"
        assert [t for t in line.channel() if t.startswith("Could not reach")] == [said]
        page = line.server.api("/api/pages").json()["pages"][0]
        assert (page["status"], page["oncall"]) == ("open", line.following)
        assert ("unreachable", f"{line.oncall} (invalid_blocks)") in _events(line)
        assert ("escalated", f"to {line.following}") in _events(line)
        audited = line.server.api("/api/audit?limit=50").json()["entries"]
        (entry,) = [e for e in audited if e["action"] == "page.unreachable"]
        assert entry["detail"] == f"#1 signups_low: {line.oncall} (invalid_blocks)"
        assert entry["message"] == f"paged {line.following}"
        lost = line.page_dm(line.oncall).id
        assert f"ERROR bot.outbox.courier: message #{lost} cannot be delivered" in line.server.log()

        # the next person's Acknowledge works, and updates their DM
        body, kind = block_action(
            "page_ack",
            "1",
            user=line.following,
            name="next",
            response_url=line.slack.response_url("ack"),
        )
        assert line.server.slack_post(body, kind).status_code == 200
        line.slack.wait_for(
            "chat.update",
            lambda p: (
                p["channel"] == "D" + line.following[1:] and "acknowledged by" in p.get("text", "")
            ),
        )


def test_a_person_slack_cannot_reach_is_skipped_for_the_next_one(line: Line) -> None:
    """They left: Slack no longer knows their conversation, nor them."""
    line.slack.fail(
        200, error="channel_not_found", methods={"chat.postMessage"}, count=1, where=_to_a_dm
    )
    line.slack.fail(200, error="user_not_found", methods={"conversations.open"}, count=1)
    line.alert("queue_stuck", "jobs wait for 20 min")

    (paged,) = line.slack.wait_for(
        "chat.postMessage", lambda p: p["channel"] == "D" + line.following[1:]
    )
    assert paged.params["text"] == "queue_stuck — page #1: jobs wait for 20 min"
    said = (
        f"Could not reach <@{line.oncall}> for page #1 (user_not_found) — "
        f"paging <@{line.following}>"
    )
    line.slack.wait_for("chat.postMessage", lambda p: p.get("text") == said)
    line.settled()
    assert len(line.dms(line.oncall)) == 1  # not an invalid message: no minimal form to try
    assert ("unreachable", f"{line.oncall} (user_not_found)") in _events(line)


def test_when_nobody_is_left_the_channel_hears_it_once(
    tmp_path: Path, fake_slack: FakeSlack, database_url: str
) -> None:
    with serving(tmp_path, fake_slack, database_url) as line:
        line.slack.fail(
            200, error="channel_not_found", methods={"chat.postMessage"}, count=1, where=_to_a_dm
        )
        line.slack.fail(200, error="user_not_found", methods={"conversations.open"}, count=2)
        line.alert("queue_stuck", "jobs wait for 20 min")

        last = (
            f"@here Could not reach <@{line.following}> for page #1 (user_not_found) — "
            "nobody is left to page"
        )
        (told,) = line.slack.wait_for("chat.postMessage", lambda p: p.get("text") == last)
        assert told.params["blocks"][0]["text"]["text"].startswith("<!here> :rotating_light:")
        assert '"action_id": "page_ack"' in json.dumps(told.params["blocks"])
        line.settled()

        assert [t for t in line.channel() if "Could not reach" in t] == [
            f"Could not reach <@{line.oncall}> for page #1 (user_not_found) — "
            f"paging <@{line.following}>",
            last,
        ]
        assert len(line.slack.calls("conversations.open")) == 2  # each person tried once
        page = line.server.api("/api/pages").json()["pages"][0]
        assert (page["status"], page["oncall"], page["level"]) == ("open", None, 2)
        assert _events(line)[-2:] == [
            ("unreachable", f"{line.following} (user_not_found)"),
            ("escalated", "to the channel"),
        ]


def test_a_message_refused_twice_is_given_up_after_one_minimal_try(line: Line) -> None:
    line.slack.fail(200, error="invalid_blocks", methods={"chat.postMessage"}, count=2)
    body, kind = slash_command(
        "/line",
        "stop the release script is broken",
        user="U0MARIA",
        name="maria",
        response_url=line.slack.response_url(),
    )
    assert line.server.slack_post(body, kind).status_code == 200
    line.settled()

    full, minimal = line.slack.wait_for("chat.postMessage", count=2)
    assert [c.params["channel"] for c in (full, minimal)] == [CHANNEL, CHANNEL]
    assert len(_kinds(full.params["blocks"])) > 1  # the announcement, its context and hints
    assert _kinds(minimal.params["blocks"]) == ["section"]  # the text alone
    assert (
        minimal.params["blocks"][0]["text"]["text"] == minimal.params["text"] == full.params["text"]
    )
    assert len(line.slack.calls("chat.postMessage")) == 2  # once each: no more tries
    (announced,) = [row for row in line.outbox() if row.kind == "post"]
    assert (announced.kind, announced.status) == ("post", "failed")
    assert "invalid_blocks" in (announced.last_error or "")
    assert line.metric("andon_outbox_messages", status="failed") == 2
    log = line.server.log()
    assert (
        f"ERROR bot.outbox.courier: message #{announced.id} refused by Slack (invalid_blocks)"
        in log
    )
    assert f"ERROR bot.outbox.courier: message #{announced.id} cannot be delivered" in log
    assert line.server.api("/api/line").json()["state"] == "stopped"  # the line did not wait

    # bolt's own client counts too: the investments form opens through views.open
    stoppage = line.server.api("/api/line").json()["stoppage"]["id"]
    body, kind = block_action(
        "whys_form",
        str(stoppage),
        user="U0MARIA",
        name="maria",
        response_url=line.slack.response_url("form"),
    )
    assert line.server.slack_post(body, kind).status_code == 200
    line.slack.wait_for("views.open")
    assert line.counted(1, "andon_slack_calls_total", method="views.open", outcome="ok") == 1


@pytest.mark.parametrize(
    ("text", "limit", "clipped"),
    [
        ("short & sweet", 13, "short & sweet"),
        ("abcdefghijkl", 9, "abcdefgh…"),
        ("aaaaaaaa&amp;b", 12, "aaaaaaaa…"),  # never half an entity
        ("ab <https://example.com/x|the run> and", 12, "ab…"),  # never half a link
        ("ab <@U0ONE> and more", 10, "ab…"),  # never half a mention
    ],
)
def test_the_minimal_form_is_clipped_whole(text: str, limit: int, clipped: str) -> None:
    assert clip(text, limit) == clipped


def _to_a_dm(params: dict[str, Any]) -> bool:
    """The faults are the person's: the courier sends a DM and the channel's posts side by
    side, so a fault for "the next post" could land on the channel's instead."""
    return str(params.get("channel", "")).startswith("D")


def _courier_logged(log: str, text: str = "") -> list[str]:
    """The courier's log lines holding ``text``: it never logs a message itself (the stop's own
    line, as every stop's, names its reason — there, a page's summary)."""
    return [entry for entry in log.splitlines() if "bot.outbox.courier" in entry and text in entry]
