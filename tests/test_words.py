"""The words a person reads in the terminal: counts said as people say them, ids a command takes,
systems named without "@", a commit described from the repository when its CI says nothing,
every button drawn and pressable by the number shown, mentions shown as names.

Each scenario runs the demo's shop floor (the real engine, its HTTP doors on loopback, a git
repository, a local host) with the terminal as the line channel, and reads what it printed.
"""

import io
import re
import secrets
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from bot.demo.floor import Floor
from bot.demo.stage import AUTHOR, Repo, build
from bot.terminal.shell import Shell
from core.actor import Actor

WHYS = ("the form changed", "the ticket said so", "nobody asked", "no owner", "no investment")


class Line:
    """The floor, the repository and what the terminal printed."""

    def __init__(self, root: Path) -> None:
        self.stage = build(root)
        self.repo = Repo(self.stage)
        self.repo.create()
        self._terminal, self._read = io.StringIO(), 0
        with redirect_stdout(self._terminal):  # the terminal front prints here
            self.floor = Floor(self.stage).start()

    def read(self) -> list[str]:
        """What the terminal printed since the last read."""
        self.floor.deliver()
        printed = self._terminal.getvalue()
        new, self._read = printed[self._read :], len(printed)
        return new.splitlines()

    def type(self, text: str, *, person: str = "maria") -> list[str]:
        actor = Actor(id=person, name=person, via="terminal")
        Shell(self.floor.andon, self.floor.chat, actor).handle(text)
        return self.read()

    def ci(self, revision: str, status: str, **fields: object) -> list[str]:
        payload = {"revision": revision, "branch": "main", "status": status, "pipeline": "tests"}
        answer = self.floor.webhook("/hooks/ci/generic", {**payload, **fields})
        assert answer.status_code == 200, answer.text
        return self.read()

    def ship(self, message: str, files: dict[str, str], *, deploys: int) -> tuple[str, list[str]]:
        """Commit, push, a green build (its CI sends no subject or author): auto-deploy ships."""
        revision = self.repo.commit(message, files)
        assert self.repo.push().returncode == 0
        self.ci(revision, "passed")
        self.floor.settle(deploys=deploys)
        return revision, self.read()


@pytest.fixture
def line(tmp_path: Path) -> Iterator[Line]:
    running = Line(tmp_path / "stage")
    yield running
    running.floor.stop()


def _where(lines: list[str], text: str) -> int:
    for index, shown in enumerate(lines):
        if text in shown:
            return index
    raise AssertionError(f"no line with {text!r} in:\n" + "\n".join(lines))


def test_a_deploy_counts_its_files_is_named_deploy_n_and_its_updated_button_presses(
    line: Line,
) -> None:
    first, shown = line.ship("Add the app", {"app.txt": "v1\n"}, deploys=1)
    deployed = "\n".join(shown)
    assert "1/1 hosts live · 1 file sent (" in deployed
    assert "· deploy 1" in deployed and "· #1" not in deployed

    _, shown = line.ship("Add sign-up", {"signup.txt": "1\n", "form.txt": "2\n"}, deploys=2)
    deployed = "\n".join(shown)
    assert "2 files sent (" in deployed and "· deploy 2" in deployed
    number = int(shown[_where(shown, "🚀 Deploying")].split()[0].lstrip("#"))
    updated = shown[_where(shown, f"#{number} (updated) ✅ Deployed") :]
    button = f"[Roll back to {first[:7]}: !press {number} deploy_rollback]"
    assert button in "\n".join(updated), deployed

    line.type(f"!press {number} deploy_rollback")
    line.floor.settle(deploys=3)
    pressed = "\n".join(line.read())
    assert "has no button" not in pressed
    assert f"Rolled back production to {first[:7]}" in pressed
    assert "· deploy 3" in pressed


def test_a_red_build_whose_ci_says_nothing_is_described_from_the_repository(line: Line) -> None:
    revision = line.repo.commit("Ask for a phone number at sign-up", {"signup.txt": "phone\n"})
    assert line.repo.push().returncode == 0

    red = "\n".join(line.ci(revision, "failed", failed_tests=["tests/test_signup.py::test_x"]))

    assert f"> Ask for a phone number at sign-up — {AUTHOR[0]}" in red
    assert "(no commit message)" not in red and "unknown author" not in red
    assert "Line stopped by tests CI" in red
    refused = "\n".join(line.type("/deploy"))
    assert re.search(r"The line is stopped since [0-9:]+ UTC by tests CI: CI failed on", refused)
    assert "@tests CI" not in refused

    unknown = secrets.token_hex(20)  # a revision the repository has never seen: nothing to read
    said = "\n".join(line.ci(unknown, "failed"))
    assert "> (no commit message) — unknown author" in said


def test_the_five_whys_counts_levels_and_action_items_show_the_command_that_closes_them(
    line: Line,
) -> None:
    stopped = line.type("/line stop sign-up is broken")
    thread = stopped[_where(stopped, "🛑 Line stopped by maria")].split()[0]
    said = line.type(f"{thread} because <@U0LEE|lee> changed the form")
    assert "Why 2: why “@lee changed the form”?" in "\n".join(said)
    assert "<@" not in "\n".join(said)
    for answer in WHYS[1:]:
        line.type(f"{thread} because {answer}")

    noted = "\n".join(line.type(f"{thread} 1: none: the test caught it"))
    assert "Still needed: investments for levels 2, 3, 4 and 5." in noted
    early = "\n".join(line.type(f"{thread} 2: add a test due fri #tests"))
    assert "Still needed: investments for levels 3, 4 and 5." in early

    listed = line.type("/actions all")
    item = re.search(r"/actions done (\d+)", "\n".join(listed))
    assert item is not None, listed
    assert "[Done: !press action_done]" in "\n".join(listed)  # a section's button is drawn
    done = "\n".join(line.type(f"/actions done {item[1]}"))
    assert "(only you) ✅ Marked done: level 2 of stoppage #1 — add a test" in done
    again = "\n".join(line.type(f"/actions done {item[1]}"))
    assert f"Action item {item[1]} (add a test) is already done" in again

    status = line.type("/line status")
    assert status[0].startswith("(only you) 🔴 The line has been stopped since")
