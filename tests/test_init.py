"""``andon init`` and ``andon --version``: what a person installing Andon from a wheel starts
with — the example configuration and the Slack app manifest written where they stand, and the
version pyproject.toml gives, read from the installed package."""

import os
import tomllib
from pathlib import Path

from core.config.file import problems
from tests.harness import run_cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "andon.example.toml"
MANIFEST = ROOT / "docs" / "slack-app-manifest.yml"
STARTER = ROOT / "bot" / "starter"


def test_the_package_ships_the_example_config_and_manifest_as_they_are_in_the_sources() -> None:
    # bot/starter/ is what the wheel carries: links to the sources (setuptools copies what they
    # point at), so nothing can drift; a copy put there instead would fail here once it does.
    assert (STARTER / "andon.example.toml").read_text() == EXAMPLE.read_text()
    assert (STARTER / "slack-app-manifest.yml").read_text() == MANIFEST.read_text()


def test_init_writes_the_example_config_and_the_manifest_into_the_current_folder(
    tmp_path: Path,
) -> None:
    done = run_cli(["init"], env=dict(os.environ), cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Wrote andon.toml (check it with `andon config check`) and ")
    assert "slack-app-manifest.yml (paste it at https://api.slack.com/apps" in done.stdout
    assert done.stdout.endswith(f"in {tmp_path}.\n")
    assert (tmp_path / "andon.toml").read_text() == EXAMPLE.read_text()
    assert (tmp_path / "slack-app-manifest.yml").read_text() == MANIFEST.read_text()
    assert problems(tmp_path / "andon.toml") == []


def test_init_refuses_to_write_over_a_file_and_writes_nothing(tmp_path: Path) -> None:
    mine = '[slack]\nchannel = "#ops"\n'
    (tmp_path / "andon.toml").write_text(mine)

    done = run_cli(["init"], env=dict(os.environ), cwd=tmp_path)

    assert done.returncode == 2
    assert done.stderr == (
        f"andon: {tmp_path} already has andon.toml; andon init writes over no file — move it "
        "away first, or edit it as it is.\n"
    )
    assert (tmp_path / "andon.toml").read_text() == mine
    assert not (tmp_path / "slack-app-manifest.yml").exists()


def test_version_prints_the_version_pyproject_gives(tmp_path: Path) -> None:
    written = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

    done = run_cli(["--version"], env=dict(os.environ), cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stdout == f"andon {written}\n"
