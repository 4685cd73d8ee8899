"""The terminal front: ``andon shell`` and ``andon serve`` without a Slack token; the terminal is
the line channel, and what a person sees there is what these scenarios read."""

import os
import pty
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.harness import AndonServer, andon_env, run_cli, upgraded
from tests.waiting import eventually

USAGE_OF_PRESS = "(only you) Press a button with: !press <message number> <action>"
USAGE_OF_REPLY = "(only you) Reply in a thread with: #<message number> <text>"


def _shell(workdir: Path, *typed: str, name: str = "maria") -> list[str]:
    """What a person sees after typing ``typed`` into ``andon shell`` (the input then ends), on
    the database an earlier shell left (the first start's migrations: the pty scenario)."""
    url = upgraded(f"sqlite:///{workdir / 'andon.db'}")
    env = andon_env(workdir, database_url=url, slack=None)
    done = run_cli(["shell", "--as", name], env=env, cwd=workdir, stdin="\n".join(typed) + "\n")
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _where(lines: list[str], text: str, *, start: int = 0) -> int:
    """The index of the first line from ``start`` on that contains ``text``."""
    for index in range(start, len(lines)):
        if text in lines[index]:
            return index
    shown = "\n".join(lines)
    raise AssertionError(f"no line with {text!r} after line {start} in:\n{shown}")


# --- andon shell -------------------------------------------------------------------------------


def test_a_stop_is_announced_with_its_thread_and_what_lets_it_start_then_answered_to_you_alone(
    tmp_path: Path,
) -> None:
    lines = _shell(tmp_path, "/line stop CI is red on main")

    announcement = _where(lines, "#1 ")
    assert lines[announcement].startswith("#1 ")
    assert "Line stopped by maria" in lines[announcement]
    assert "CI is red on main" in lines[announcement]
    # no Start button the five whys rule would refuse: what lets the line start instead
    hint = _where(lines, "/line start works once the five whys", start=announcement)
    assert "/whys schedule tomorrow 10:00" in lines[hint]
    assert not any("line_start" in line for line in lines)
    # the Slack modal behind "Schedule the five whys" is shown as what to type
    assert lines[hint + 1].strip() == (
        "[Schedule the five whys: type /whys schedule tomorrow 10:00]"
    )
    thread = _where(lines, "↳ #2 in thread #1", start=hint)
    assert "CI is red on main" in lines[thread]
    answer = _where(lines, "(only you) You stopped the line", start=thread)
    assert lines[answer].startswith("(only you) ")


def test_once_the_meeting_is_booked_the_announcement_offers_start_and_it_restarts_the_line(
    tmp_path: Path,
) -> None:
    lines = _shell(
        tmp_path,
        "/line stop CI is red",
        "/whys schedule in 1h",
        "/line start",
        "/line status",
    )

    booked = _where(lines, "scheduled the five whys")
    offered = _where(lines, "#1 (updated) 🛑 Line stopped by maria", start=booked)
    _where(lines, "[Start the line: !press", start=offered)
    pressed = _where(lines, "(only you) 📅 Five whys of stoppage #1 scheduled")
    _where(lines, "Line running again", start=pressed)
    updated = _where(lines, "#1 (updated)", start=pressed)
    _where(lines, "Restarted by maria", start=updated)
    _where(lines, "(only you) ✅ You started the line", start=updated)
    assert "The line has been running since" in lines[-1]


def test_pressing_a_button_of_the_last_answer_only_you_saw(tmp_path: Path) -> None:
    lines = _shell(
        tmp_path,
        "/line stop CI is red",
        "/whys schedule in 1h",
        "/line status",
        "!press line_start",
        "/line status",
    )

    status = _where(lines, "The line has been stopped since")
    button = _where(lines, "[Start the line: !press line_start]", start=status)
    _where(lines, "(only you) ✅ You started the line", start=button)
    assert "The line has been running since" in lines[-1]


@pytest.mark.parametrize(
    ("press", "said"),
    [
        ("!press 2 line_start", "(only you) Message #2 has no button 'line_start'."),
        ("!press 1 launch_rockets", "(only you) Message #1 has no button 'launch_rockets'."),
        ("!press 99 line_start", "(only you) Message #99 has no button 'line_start'."),
        ("!press line_start", "(only you) The last answer has no button 'line_start'."),
    ],
)
def test_pressing_a_button_the_message_does_not_have_says_so(
    tmp_path: Path, press: str, said: str
) -> None:
    lines = _shell(tmp_path, "/line stop CI is red", press, "/line status")

    _where(lines, said)
    assert not any("You started the line" in line for line in lines)
    _where(lines, "The line has been stopped since")


@pytest.mark.parametrize(
    ("typed", "usage"),
    [
        ("#12", USAGE_OF_REPLY),
        ("#12   ", USAGE_OF_REPLY),
        ("#twelve why did it break", USAGE_OF_REPLY),
        ("!press", USAGE_OF_PRESS),
        ("!press one line_start", USAGE_OF_PRESS),
        ("!press 1 line_start now", USAGE_OF_PRESS),
    ],
)
def test_a_malformed_thread_reply_or_press_gets_usage(
    tmp_path: Path, typed: str, usage: str
) -> None:
    lines = _shell(tmp_path, "/line stop CI is red", typed)

    assert lines[-1] == usage


def test_a_thread_reply_is_shown_in_its_thread(tmp_path: Path) -> None:
    lines = _shell(tmp_path, "/line stop CI is red", "#1 because the runner ran out of disk")

    said = _where(lines, "  ↳ in thread #1, @maria: because the runner ran out of disk")
    assert "Why 2: why “the runner ran out of disk”?" in lines[said + 1]  # the five whys asks on


def test_a_reply_to_a_message_that_does_not_exist_says_so(tmp_path: Path) -> None:
    lines = _shell(tmp_path, "#99 anyone there?")

    assert lines[-1] == "(only you) There is no message #99 to reply to."


@pytest.mark.parametrize(
    ("typed", "named"),
    [
        ("hello there", "(only you) I don't know hello there."),
        ("/line launch rockets", "(only you) I don't know /line launch rockets."),
        ("/page abc123", "(only you) I don't know /page abc123."),
    ],
)
def test_an_unknown_command_gets_help_naming_what_was_not_understood(
    tmp_path: Path, typed: str, named: str
) -> None:
    lines = _shell(tmp_path, typed)

    said = _where(lines, named)
    _where(lines, "/line stop <reason>", start=said)
    _where(lines, "/line start", start=said)
    _where(lines, "/line status", start=said)


def test_a_second_stop_adds_a_cause_in_the_thread_of_the_first_announcement(
    tmp_path: Path,
) -> None:
    _shell(tmp_path, "/line stop CI is red", name="maria")
    lines = _shell(tmp_path, "/line stop the disk is full", "/line status", name="bob")

    cause = _where(lines, "bob added a cause: the disk is full")
    assert "in thread #1" in lines[cause]
    answer = _where(lines, "(only you) The line was already stopped", start=cause)
    assert "another cause" in lines[answer]
    causes = _where(lines, "Causes", start=answer)
    _where(lines, "CI is red — maria", start=causes)
    _where(lines, "the disk is full — bob", start=causes)
    assert not any(line.startswith("#3 ") and "Line stopped" in line for line in lines)


# --- andon serve without a Slack token --------------------------------------------------------


def _terminal_server(workdir: Path) -> Iterator[AndonServer]:
    """``andon serve`` with no Slack token and no andon.toml content, reading its stdin."""
    server = AndonServer(
        workdir / "serve", database_url=f"sqlite:///{workdir / 'andon.db'}", slack=None, config=""
    )
    server.env["USER"] = "maria"
    server.start(stdin=subprocess.PIPE)
    yield server
    server.stop()
    if server.process.stdin is not None:
        server.process.stdin.close()


@pytest.fixture
def terminal_server(tmp_path: Path) -> Iterator[AndonServer]:
    """One of its own, for a scenario that types on its terminal or stops the line."""
    yield from _terminal_server(tmp_path)


@pytest.fixture(scope="module")
def untouched_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AndonServer]:
    """One for the module's scenarios that only look (its start costs a second of CPU)."""
    yield from _terminal_server(tmp_path_factory.mktemp("terminal"))


def test_serve_without_a_slack_token_says_in_one_line_that_the_terminal_is_the_channel(
    untouched_server: AndonServer,
) -> None:
    said = [line for line in untouched_server.log().splitlines() if "SLACK_BOT_TOKEN:" in line]
    assert len(said) == 1, untouched_server.log()
    assert said[0].startswith("No SLACK_BOT_TOKEN")
    assert "the terminal is the line channel" in said[0]


def test_serve_without_a_slack_token_answers_healthz(untouched_server: AndonServer) -> None:
    assert requests.get(untouched_server.url + "/healthz", timeout=10).status_code == 200


def test_serve_without_a_slack_token_names_the_closed_slack_door(
    untouched_server: AndonServer,
) -> None:
    assert "SLACK_BOT_TOKEN is unset: /slack/events answers 401" in untouched_server.log()


def test_serve_without_a_slack_token_keeps_the_slack_door_closed(
    untouched_server: AndonServer,
) -> None:
    answer = requests.post(
        untouched_server.url + "/slack/events",
        data=b"command=%2Fline&text=stop+forged",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert answer.status_code == 401
    assert untouched_server.api("/api/line").json()["state"] == "running"


def test_serve_without_a_slack_token_reads_commands_typed_on_its_terminal(
    terminal_server: AndonServer,
) -> None:
    typed = terminal_server.process.stdin
    assert typed is not None
    typed.write("/line stop disk full\n")
    typed.flush()

    eventually(
        lambda: "Line stopped by maria" in terminal_server.log(),
        timeout=15,
        what="the announcement in the terminal",
    )
    announcement = next(
        line for line in terminal_server.log().splitlines() if "Line stopped by maria" in line
    )
    assert announcement.startswith("#1 ") and "disk full" in announcement
    eventually(
        lambda: "(only you) You stopped the line" in terminal_server.log(),
        timeout=15,
        what="the answer to the person who typed it",
    )
    line = terminal_server.api("/api/line").json()
    assert line["state"] == "stopped"
    assert [cause["text"] for cause in line["stoppage"]["causes"]] == ["disk full"]


def test_a_stop_from_the_cli_is_told_on_the_servers_terminal_in_order(
    terminal_server: AndonServer,
) -> None:
    done = terminal_server.cli("line", "stop", "--as", "ops", "disk", "is", "full")
    assert done.returncode == 0, done.stderr
    assert "#1 🛑 Line stopped by ops" in done.stdout

    eventually(
        lambda: "Line stopped by ops" in terminal_server.log(),
        timeout=15,
        what="the CLI's stop on the server's terminal",
    )
    told = terminal_server.log().splitlines()
    announcement = next(n for n, line in enumerate(told) if "Line stopped by ops" in line)
    assert told[announcement].startswith("#1 ") and "disk is full" in told[announcement]
    eventually(
        lambda: "in thread #1" in terminal_server.log(),
        timeout=15,
        what="the five whys' opener under it, as thread #1",
    )


def test_every_emoji_a_message_uses_shows_as_a_picture_in_the_terminal() -> None:
    """A shortcode the terminal does not know would reach the reader as ``:rocket:``."""
    import re

    from bot.terminal.chat import plain

    root = Path(__file__).resolve().parents[1]
    sources = [*root.glob("bot/render/*.py"), *root.glob("core/**/*.py")]
    # a shortcode stands alone: not "andon:alerts:new-pages" nor "{source}:sha256:{digest}"
    shortcode = re.compile(r"(?<![\w}]):[a-z0-9_+-]+:(?![\w{])")
    used = {code for path in sources for code in shortcode.findall(path.read_text())}
    assert used, "no shortcodes found: the search is wrong"
    assert sorted(code for code in used if plain(code) == code) == []


def test_at_a_terminal_the_up_arrow_recalls_the_last_command_and_history_is_kept(
    tmp_path: Path,
) -> None:
    """``andon shell`` at a real terminal (a pty) edits lines with readline: ↑ then Enter runs
    the previous command again, and the history is in ~/.andon_history afterwards."""
    env = andon_env(tmp_path, database_url=f"sqlite:///{tmp_path / 'a.db'}", slack=None)
    env.update(HOME=str(tmp_path), TERM="xterm")
    controller, terminal = pty.openpty()
    shell = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "shell", "--as", "maria"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
        cwd=tmp_path,
    )
    os.close(terminal)
    seen = bytearray()

    def shown(text: str) -> bytes:
        def arrived() -> bool:
            while select.select([controller], [], [], 0)[0]:
                seen.extend(os.read(controller, 65536))
            return seen.count(text.encode()) > 0

        eventually(  # the shell's start alone takes seconds on a busy machine
            arrived, timeout=60, what=lambda: f"{text!r} at the terminal; it shows {bytes(seen)!r}"
        )
        return bytes(seen)

    try:
        shown("andon> ")
        os.write(controller, b"/line status\r")
        shown("The line has been running")
        os.write(controller, b"\x1b[A\r")  # the up arrow, then Enter
        eventually(
            lambda: shown("andon> ").count(b"The line has been running") == 2,
            timeout=60,
            what=lambda: f"the status answered twice; the terminal shows {bytes(seen)!r}",
        )
        os.write(controller, b"quit\r")
        assert shell.wait(timeout=30) == 0
    finally:
        shell.kill()
        os.close(controller)
    assert "/line status" in (tmp_path / ".andon_history").read_text()
