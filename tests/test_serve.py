"""How ``andon serve`` starts and stops, as an operator sees it."""

import secrets
import signal
import subprocess
from pathlib import Path

import pytest

from storage import migrate
from storage.database import Database
from tests.ci_payloads import generic, post
from tests.fakes.slack import FakeSlack
from tests.harness import AndonServer, andon_env, run_cli, slack_server


def test_quit_typed_at_the_terminal_stops_the_server(tmp_path: Path) -> None:
    server = AndonServer(
        tmp_path, database_url=f"sqlite:///{tmp_path / 'a.db'}", slack=None, config=""
    )
    server.start(stdin=subprocess.PIPE)
    stdin = server.process.stdin
    assert stdin is not None
    stdin.write("quit\n")
    stdin.flush()
    assert server.process.wait(timeout=20) == 0
    server.stop()
    assert "stopped" in server.log()


def test_the_first_start_creates_the_database_at_the_newest_schema_and_a_restart_keeps_it(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    server = AndonServer(tmp_path, database_url=url, slack=fake_slack, migrated=False).start()
    assert server.api("/api/line").json()["state"] == "running"
    server.stop()
    database = Database(url)
    try:
        assert migrate.schema(database) is migrate.Schema.CURRENT
    finally:
        database.dispose()

    again = AndonServer(tmp_path, database_url=url, slack=fake_slack).start()
    assert again.api("/api/line").json()["state"] == "running"
    again.stop()
    assert "Traceback" not in again.log()


def test_slack_without_a_line_channel_refuses_to_start(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    (tmp_path / "andon.toml").write_text("")
    env = andon_env(tmp_path, database_url=f"sqlite:///{tmp_path / 'a.db'}", slack=fake_slack)
    ran = run_cli(["serve"], env=env, cwd=tmp_path)
    assert ran.returncode == 2
    assert "no [slack] channel" in ran.stderr


def test_a_broken_config_names_its_problem_and_refuses_to_start(tmp_path: Path) -> None:
    (tmp_path / "andon.toml").write_text('[line]\nnag = "often"\n')
    env = andon_env(tmp_path, database_url=f"sqlite:///{tmp_path / 'a.db'}", slack=None)
    ran = run_cli(["serve"], env=env, cwd=tmp_path)
    assert ran.returncode == 2
    assert "line.nag" in ran.stderr


# --- stopping: SIGTERM (systemd, Docker, Kubernetes) and SIGINT (Ctrl-C) alike -------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_server_cleanly_exit_0_with_stopped_logged(
    tmp_path: Path, fake_slack: FakeSlack, sig: signal.Signals
) -> None:
    server = slack_server(tmp_path, fake_slack)

    server.stop(sig)  # asserts exit status 0

    log = server.log()
    assert f"stopping ({sig.name}): no new work; 20 s to finish what is in flight" in log
    assert log.rstrip().endswith("stopped"), log[-2000:]
    assert "Traceback" not in log


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_message_slack_put_off_just_before_the_signal_is_delivered_on_the_way_out(
    tmp_path: Path, fake_slack: FakeSlack, sig: signal.Signals
) -> None:
    server = slack_server(tmp_path, fake_slack)
    revision = secrets.token_hex(20)

    def ours(params: dict) -> bool:  # this test's message, whatever else reaches this fake
        return f"CI failed on {revision[:7]}" in params.get("text", "")

    fake_slack.fail(429, retry_after=3, methods={"chat.postMessage"}, where=ours)

    assert post(server, "generic", generic(revision, "failed")).status_code == 200
    put_off = fake_slack.wait_for("chat.postMessage", ours)
    server.stop(sig)  # within the 3 s Slack asked to wait: the last delivery waits them out

    delivered = [c for c in fake_slack.calls("chat.postMessage") if c.params == put_off[0].params]
    assert len(delivered) == 2, [c.params.get("text") for c in fake_slack.calls()]
    assert "message(s) wait in the outbox" not in server.log()
