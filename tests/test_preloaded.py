"""The suite forks each ``andon`` from a preloaded interpreter (tests/preloaded.py): what a person
sees of a command must be what a new interpreter shows — its output, its errors, its exit status
and its working directory — or every scenario would be reading something else."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import preloaded
from tests.harness import andon_env
from tests.waiting import eventually


@pytest.fixture
def cold_then_forked() -> Iterator[list[bool]]:
    was = preloaded.COLD
    yield [True, False]
    preloaded.COLD = was


@pytest.mark.parametrize(
    "args",
    [["--version"], ["config", "check"], ["line", "status"], ["lien", "status"]],
    ids=["version", "config check", "no database yet", "mistyped command"],
)
def test_a_forked_command_shows_what_a_new_interpreter_shows(
    tmp_path: Path, cold_then_forked: list[bool], args: list[str]
) -> None:
    (tmp_path / "andon.toml").write_text("")
    env = andon_env(tmp_path, database_url=f"sqlite:///{tmp_path / 'andon.db'}", slack=None)
    seen = []
    for cold in cold_then_forked:
        preloaded.COLD = cold
        done = preloaded.run(args, env=env, cwd=tmp_path, stdin="", timeout=60)
        seen.append((done.returncode, done.stdout, done.stderr))
    assert seen[0] == seen[1]
    assert seen[0][1] or seen[0][2]  # it said something, and said it the same way


def test_typed_input_reaches_a_forked_shell_and_its_exit_status_comes_back(
    tmp_path: Path,
) -> None:
    (tmp_path / "andon.toml").write_text("")
    env = andon_env(tmp_path, database_url=f"sqlite:///{tmp_path / 'andon.db'}", slack=None)
    done = preloaded.run(
        ["shell", "--as", "maria"], env=env, cwd=tmp_path, stdin="/line status\n", timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "running" in done.stdout.lower()
    assert (tmp_path / "andon.db").is_file()  # created where the command ran, not elsewhere


def test_a_server_that_cannot_start_is_seen_ended_with_its_status(tmp_path: Path) -> None:
    """``poll`` without waiting must notice the end, as the harness's start waits on it."""
    (tmp_path / "andon.toml").write_text('[line]\nnag = "often"\n')
    env = andon_env(tmp_path, database_url=f"sqlite:///{tmp_path / 'andon.db'}", slack=None)
    with (tmp_path / "serve.log").open("w") as log:
        process = preloaded.start(
            ["serve"], env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
        eventually(lambda: process.poll() is not None, what="the refused start ended")
    assert process.returncode == 2
    assert "line.nag" in (tmp_path / "serve.log").read_text()
