"""How ``andon serve`` starts and stops, as an operator sees it."""

import subprocess
from pathlib import Path

from tests.fakes.slack import FakeSlack
from tests.harness import AndonServer, andon_env, run_cli


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
