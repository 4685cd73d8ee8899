"""With ``SLACK_APP_TOKEN`` set, ``andon serve`` takes Slack's requests over Socket Mode."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.slack import APP_TOKEN, FakeSlack
from tests.fakes.socket_mode import FakeSocketMode
from tests.harness import CHANNEL, AndonServer
from tests.slack_requests import block_action, slash_command, socket_payload


@pytest.fixture
def socket_mode() -> Iterator[FakeSocketMode]:
    with FakeSocketMode() as fake:
        yield fake


def test_a_slash_command_over_socket_mode_stops_the_line(
    tmp_path: Path, socket_mode: FakeSocketMode
) -> None:
    with FakeSlack() as slack:
        slack.socket_url = socket_mode.url
        server = AndonServer(tmp_path, database_url=f"sqlite:///{tmp_path / 'a.db'}", slack=slack)
        server.env["SLACK_APP_TOKEN"] = APP_TOKEN
        del server.env["SLACK_SIGNING_SECRET"]  # Socket Mode needs no signing secret
        server.start()
        try:
            socket_mode.wait_connected()
            envelope = socket_mode.send(
                "slash_commands",
                {
                    "command": "/line",
                    "text": "stop socket mode works",
                    "user_id": "U0MARIA",
                    "user_name": "maria",
                    "channel_id": CHANNEL,
                    "team_id": "T0ANDON01",
                    "response_url": slack.response_url(),
                    "trigger_id": "13345224609.738474920.8088930838d88f008e0",
                },
            )
            ack = socket_mode.ack(envelope)
            assert "You stopped the line" in ack["payload"]["text"]
            slack.wait_for("chat.postMessage", lambda p: "socket mode works" in p.get("text", ""))
            assert server.api("/api/line").json()["state"] == "stopped"
        finally:
            server.stop()


class SocketLine:
    """``andon serve`` over one Socket Mode connection; people type commands and press buttons."""

    def __init__(self, root: Path, *, slack: FakeSlack, socket_mode: FakeSocketMode) -> None:
        self.slack, self.socket_mode = slack, socket_mode
        slack.socket_url = socket_mode.url
        self.server = AndonServer(root, database_url=f"sqlite:///{root / 'a.db'}", slack=slack)
        self.server.env["SLACK_APP_TOKEN"] = APP_TOKEN
        del self.server.env["SLACK_SIGNING_SECRET"]
        self.sent: dict[str, tuple[str, dict[str, Any]]] = {}  # envelope id: kind, payload

    def send(self, kind: str, body: bytes, content_type: str, *, retry: int) -> str:
        payload = socket_payload(body, content_type)
        envelope = self.socket_mode.send(kind, payload, retry_attempt=retry)
        self.sent[envelope] = (kind, payload)
        return envelope

    def command(self, text: str, *, command: str = "/line", retry: int = 0) -> tuple[str, str]:
        """Send a slash command; its envelope id and the answer in its ack."""
        body, kind = slash_command(
            command, text, user="U0MARIA", name="maria", response_url=self.slack.response_url()
        )
        envelope = self.send("slash_commands", body, kind, retry=retry)
        return envelope, self.socket_mode.ack(envelope)["payload"]["text"]

    def press(self, user: str, *, retry: int = 0) -> tuple[str, str]:
        """Press *Start the line*; its envelope id and the answer sent to ``response_url``."""
        before = len(self.slack.calls("response_url"))
        body, kind = block_action(
            "line_start", "", user=user, name=user.lower(), response_url=self.slack.response_url()
        )
        envelope = self.send("interactive", body, kind, retry=retry)
        assert "payload" not in self.socket_mode.ack(envelope)  # a press is acked at once
        return envelope, self.slack.wait_for("response_url", count=before + 1)[-1].params["text"]

    def again(self, envelope: str) -> dict[str, Any]:
        """Slack re-sends an envelope whose ack it missed: same id, same payload, a retry."""
        kind, payload = self.sent[envelope]
        self.socket_mode.send(kind, payload, retry_attempt=1, envelope_id=envelope)
        return self.socket_mode.ack(envelope, nth=2)

    def audit(self, action: str) -> list[dict[str, Any]]:
        entries = self.server.api("/api/audit?limit=1000").json()["entries"]
        return [e for e in entries if e["action"] == action]


def test_many_requests_in_a_row_over_one_connection_are_each_acted_on_once(
    tmp_path: Path, socket_mode: FakeSocketMode
) -> None:
    """Envelopes that carry a retry number for some other request are still new requests; the
    same envelope sent again is acknowledged and not acted on."""
    with FakeSlack() as slack:
        line = SocketLine(tmp_path, slack=slack, socket_mode=socket_mode)
        line.server.start()
        try:
            socket_mode.wait_connected()
            first, said = line.command("stop socket A")
            assert said.startswith("You stopped the line")
            _, said = line.command("stop socket B", retry=1)
            assert "added" in said, said
            _, said = line.command("status", retry=2)
            assert said.startswith("The line has been stopped"), said
            _, answer = line.press("U0ANA")
            assert "five whys" in answer.lower(), answer  # refused: the whys is not done
            _, said = line.command("schedule tomorrow 10:00", command="/whys", retry=1)
            assert "scheduled for" in said, said
            started, answer = line.press("U0JOE", retry=3)
            assert "started the line" in answer, answer
            assert line.server.api("/api/line").json()["state"] == "running"
            _, said = line.command("stop socket C", retry=1)
            assert said.startswith("You stopped the line")

            # The first command's envelope again: acknowledged, the line untouched.
            assert "payload" not in line.again(first)
            # The press that started the line, again: the line stays stopped.
            assert "payload" not in line.again(started)

            stoppage = line.server.api("/api/line").json()["stoppage"]
            assert [c["text"] for c in stoppage["causes"]] == ["socket C"]
            stops = [e["detail"] for e in line.audit("line.stop")]
            assert sorted(stops) == ["socket A", "socket B", "socket C"]
            starts = [(e["actor"]["id"], e["outcome"]) for e in line.audit("line.start")]
            assert sorted(starts) == [("U0ANA", "refused"), ("U0JOE", "ok")]
            repeats = sorted(e["detail"] for e in line.audit("slack.repeat"))
            assert len(repeats) == 2 and repeats[0].startswith("/line stop socket A:")
            assert repeats[1].startswith("button line_start:")
            assert line.server.log().count("acknowledged, not acted on") == 2
        finally:
            line.server.stop()
