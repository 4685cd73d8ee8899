"""The issue's scenario end to end: stop from Slack, status, start from the CLI, all recorded."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.slack import FakeSlack
from tests.harness import AndonServer
from tests.slack_requests import slash_command


@pytest.fixture(params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path: Path, fake_slack: FakeSlack
) -> Iterator[AndonServer]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'andon.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database(f"scenario_{tmp_path.name}"[:60])
    running = AndonServer(tmp_path, database_url=url, slack=fake_slack).start()
    yield running
    running.stop()


def test_stop_from_slack_status_then_start_from_the_cli(server: AndonServer) -> None:
    def line(text: str) -> dict:
        body, kind = slash_command(
            "/line", text, user="U0MARIA", name="maria", response_url=server.slack.response_url()
        )
        return server.slack_post(body, kind).json()

    assert "You stopped the line" in line("stop CI is red on main")["text"]
    assert line("status")["text"].startswith("The line has been stopped since")
    refused = server.cli("line", "start", "--as", "ops")
    assert refused.returncode == 1 and "five whys of stoppage" in refused.stdout
    body, kind = slash_command(
        "/whys",
        "schedule in 1h",
        user="U0MARIA",
        name="maria",
        response_url=server.slack.response_url(),
    )
    assert "scheduled for" in server.slack_post(body, kind).json()["text"]

    started = server.cli("line", "start", "--as", "ops")
    assert started.returncode == 0, started.stderr
    assert "You started the line after" in started.stdout

    now = server.api("/api/line").json()
    assert now["state"] == "running" and now["stoppage"] is None
    entries = server.api("/api/audit").json()["entries"]
    assert [(e["action"], e["via"], e["actor"]["id"], e["outcome"]) for e in entries] == [
        ("line.start", "cli", "ops", "ok"),
        ("whys.schedule", "slack", "U0MARIA", "ok"),
        ("line.start", "cli", "ops", "refused"),
        ("line.status", "slack", "U0MARIA", "ok"),
        ("line.stop", "slack", "U0MARIA", "ok"),
    ]
    stoppage_id = int(entries[4]["message"].removeprefix("stoppage #"))
    stoppage = server.api(f"/api/stoppages/{stoppage_id}").json()
    assert stoppage["state"] == "closed"
    assert stoppage["duration_s"] is not None and stoppage["duration_s"] >= 0
    assert stoppage["closed_by"] == {"id": "ops", "name": "ops", "via": "cli"}
    assert [c["text"] for c in stoppage["causes"]] == ["CI is red on main"]
