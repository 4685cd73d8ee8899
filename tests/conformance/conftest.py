"""What every conformance module shares: a fake Slack of its own and what a person reads there.

The conformance suite runs the real senders (``make conformance``); ``make test`` leaves it out.
"""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.slack import FakeSlack
from tests.harness import AndonServer

ONCALL = "U0ONCALL1"
DM = "D" + ONCALL[1:]  # the fake opens D… for U…


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    """A fake Slack for the module alone: another module's sender never shows up in it."""
    with FakeSlack() as fake:
        yield fake


def dms(slack: FakeSlack, about: str) -> list[dict[str, Any]]:
    """The DMs the person on call read that mention ``about``, oldest first."""
    return [
        call.params
        for call in slack.calls("chat.postMessage")
        if call.params["channel"] == DM and about in call.params["text"]
    ]


def edits(slack: FakeSlack, about: str) -> list[str]:
    """What the on-call person's DMs that mention ``about`` were edited to, oldest first."""
    return [
        call.params["text"]
        for call in slack.calls("chat.update")
        if call.params["channel"] == DM and about in call.params["text"]
    ]


def causes(server: AndonServer) -> list[str]:
    """The causes of the open stoppage (empty while the line runs)."""
    line = server.api("/api/line").json()
    assert line["state"] in ("running", "stopped"), line
    return [cause["text"] for cause in (line["stoppage"] or {}).get("causes", [])]


def deliveries(server: AndonServer, provider: str, name: str) -> int:
    """How many deliveries from ``provider`` named alert ``name`` (each one audit row)."""
    entries = server.api("/api/audit?limit=1000").json()["entries"]
    return sum(
        1
        for entry in entries
        if entry["action"] == "alerts"
        and entry["actor"]["id"] == f"alerts:{provider}"
        and name in entry["detail"]
    )
