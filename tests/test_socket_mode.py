"""With ``SLACK_APP_TOKEN`` set, ``andon serve`` takes Slack's requests over Socket Mode."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.slack import APP_TOKEN, FakeSlack
from tests.fakes.socket_mode import FakeSocketMode
from tests.harness import CHANNEL, AndonServer


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
                    "trigger_id": "1.2.3",
                },
            )
            ack = socket_mode.ack(envelope)
            assert "You stopped the line" in ack["payload"]["text"]
            slack.wait_for("chat.postMessage", lambda p: "socket mode works" in p.get("text", ""))
            assert server.api("/api/line").json()["state"] == "stopped"
        finally:
            server.stop()
