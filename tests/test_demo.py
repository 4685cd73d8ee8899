"""``andon demo`` as a person runs it: the real console script, read the way they read it.

Run from an empty folder with a hostile environment — a Slack token, an ``ANDON_URL`` and a
database of someone else's — to show the demo keeps to its own stage and never reaches them.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ANDON = Path(sys.executable).parent / "andon"  # the virtualenv running the tests
STEPS = (
    "A push to main",
    "A green build",
    "An automatic deploy",
    "A red build stops the line",
    "A stopped line refuses a push",
    "A fix may pass: the Line-Fix trailer",
    "The five whys",
    "/line start",
    "A deploy",
    "A page after it",
    "A rollback",
    "The digest",
)


def _demo(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if not ANDON.exists():
        pytest.skip(f"{ANDON} is not installed (make dev)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANDON_", "SLACK_", "GIT_"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-not-for-the-demo",
        ANDON_URL="http://127.0.0.1:9",  # nothing listens: a hook that asked here would refuse
        ANDON_DATABASE_URL=f"sqlite:///{workdir / 'someone-elses.db'}",
        TMPDIR=str(workdir),
    )
    return subprocess.run(
        [str(ANDON), "demo", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def told(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    workdir = tmp_path_factory.mktemp("demo")
    return _demo(workdir), workdir


def _section(out: str, title: str) -> str:
    """The lines under one step's heading, up to the next heading."""
    heading = re.search(rf"^── \d+\. {re.escape(title)}", out, flags=re.MULTILINE)
    assert heading is not None, f"no step {title!r}"
    following = out.find("\n── ", heading.start())
    return out[heading.start() : following if following != -1 else None]


def test_it_exits_0_and_tells_every_step_in_order(
    told: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, _ = told
    assert done.returncode == 0, done.stdout + done.stderr
    headings = re.findall(r"^── (\d+)\. (.*)$", done.stdout, flags=re.MULTILINE)
    assert [int(number) for number, _ in headings] == list(range(1, len(STEPS) + 1))
    for (_, title), step in zip(headings, STEPS, strict=True):
        assert title.startswith(step), (title, step)


def test_the_pushes_land_until_the_line_stops_then_git_says_why_not(
    told: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    out = told[0].stdout
    assert "[new branch]      main -> main" in _section(out, "A push to main")
    refused = _section(out, "A stopped line refuses a push")
    assert "remote: Andon: the line is stopped — push to main refused." in refused
    assert "! [remote rejected] main -> main (pre-receive hook declined)" in refused
    override = _section(out, "A fix may pass")
    assert "this push passes as a fix" in override
    assert "pushed to main past the stopped line as a fix" in override


def test_green_ships_by_itself_and_red_stops_the_line(
    told: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    out = told[0].stdout
    shipped = _section(out, "An automatic deploy")
    assert "Deployed" in shipped and "by auto-deploy" in shipped
    red = _section(out, "A red build stops the line")
    assert "CI failed on" in red and "tests/test_signup.py::test_signup_without_phone" in red
    assert "Line stopped by" in red
    assert "Why 1: why did" in red


def test_the_five_whys_lets_the_line_start_again(
    told: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    out = told[0].stdout
    whys = _section(out, "The five whys")
    assert "Why 5: why" in whys
    assert "Five whys of stoppage #1 done" in whys
    started = _section(out, "/line start")
    assert "maria> /line start" in started
    assert "Line running again" in started


def test_a_deploy_a_page_by_dm_and_a_rollback(
    told: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    out = told[0].stdout
    deployed = _section(out, "A deploy")
    assert "maria> /deploy" in deployed and "Deployed" in deployed
    paged = _section(out, "A page after it")
    assert re.search(r"^#\d+ \(DM to @(lee|maria)\) .*signups_low \(critical\)", paged, re.M)
    assert "Line stopped by" in paged
    rolled = _section(out, "A rollback")
    assert re.search(r"^(lee|maria)> /rollback$", rolled, re.M)
    assert "Rolled back production to" in rolled
    first_release = re.search(r"current/REVISION is (\w+)", _section(out, "An automatic deploy"))
    assert first_release is not None
    assert f"current/REVISION is {first_release.group(1)}" in rolled


def test_it_ends_with_the_digest(told: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    digest = _section(told[0].stdout, "The digest")
    assert "Weekly digest" in digest, digest


def test_it_leaves_nothing_behind(told: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    done, workdir = told
    assert "The stage is kept" not in done.stdout
    assert sorted(p.name for p in workdir.iterdir()) == []


def test_keep_leaves_the_stage_and_says_where(tmp_path: Path) -> None:
    done = _demo(tmp_path, "--keep")
    assert done.returncode == 0, done.stdout + done.stderr
    kept = re.search(r"The stage is kept in (\S+)\.", done.stdout)
    assert kept is not None, done.stdout[-500:]
    stage = Path(kept.group(1))
    assert stage.parent == tmp_path
    assert (stage / "andon.toml").is_file()
    assert (stage / "hosts" / "production" / "current" / "REVISION").is_file()
