"""A real Buildbot master and worker build a local repository on every push to main and report
through ``HttpStatusPush`` configured exactly as docs/ci.md shows: a failing test is announced
and stops the line, the commit that makes it pass again is named as the fix in the thread."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conformance.buildbot import BUILDER, Buildbot
from tests.fakes.slack import FakeSlack
from tests.git_server import GitWorkspace
from tests.harness import CHANNEL, WEBHOOK_SECRET, AndonServer

CONFIG = """
[slack]
channel = "{channel}"
[repo]
path = "{bare}"
branch = "main"
"""
BUILD = 120.0  # a poll, a clone and a unittest run on a busy two-core machine
TEST = """import unittest


class Cart(unittest.TestCase):
    def test_total(self):
        self.assertEqual(sum([2, 3]), {total})
"""
RED_SUBJECT = "Count the delivery fee in the cart total"


@dataclass
class Story:
    """What the channel saw of one red and one green build."""

    red: str
    green: str
    failed: dict[str, Any]
    stoppage: dict[str, Any]
    fixed: dict[str, Any]
    master_log: str


def push(repo: GitWorkspace, *, total: int, subject: str) -> str:
    (repo.clone / "test_cart.py").write_text(TEST.format(total=total))
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", subject)
    repo.git("push", "-q", "origin", "main")
    return repo.git("rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory, slack: FakeSlack) -> Iterator[Story]:
    root = tmp_path_factory.mktemp("buildbot")
    repo = GitWorkspace(root / "git", author=("Maria Kovač", "maria@shop.example"), env={})
    push(repo, total=5, subject="Add the cart")
    andon = AndonServer(
        root / "andon",
        database_url=f"sqlite:///{root / 'andon.db'}",
        slack=slack,
        config=CONFIG.format(channel=CHANNEL, bare=repo.bare),
    ).start()
    buildbot: Buildbot | None = None
    try:
        buildbot = Buildbot(
            root / "buildbot", repo=f"file://{repo.bare}", andon=andon.url, secret=WEBHOOK_SECRET
        )
        buildbot.wait_polling()

        red = push(repo, total=6, subject=RED_SUBJECT)
        failed = slack.wait_for(
            "chat.postMessage",
            lambda p: p["channel"] == CHANNEL and p["text"].startswith(f"CI failed on {red[:7]}"),
            timeout=BUILD,
        )[0].params
        stoppage = andon.open_stoppage(timeout=30)

        green = push(repo, total=5, subject="Leave the delivery fee out of the cart total again")
        fixed = slack.wait_for(
            "chat.postMessage",
            lambda p: (
                p.get("thread_ts") == stoppage["thread_ts"]
                and p["text"].startswith(f"Fixed by {green[:7]}")
            ),
            timeout=BUILD,
        )[0].params
        yield Story(red, green, failed, stoppage, fixed, buildbot.log())
    finally:
        if buildbot is not None:
            buildbot.stop()
        andon.stop()


def test_a_failing_test_is_announced_and_stops_the_line(story: Story) -> None:
    assert story.failed["text"] == f"CI failed on {story.red[:7]} (main) — {BUILDER}"
    assert [cause["text"] for cause in story.stoppage["causes"]] == [
        f"CI failed on {story.red[:7]}"
    ]
    assert "unable to upload status" not in story.master_log  # every report was accepted


def test_the_green_build_after_it_is_named_as_the_fix_in_the_thread(story: Story) -> None:
    assert story.fixed["channel"] == CHANNEL
    assert f"{BUILDER} passed on main" in story.fixed["text"]


def test_the_red_build_names_its_author_and_subject(story: Story) -> None:
    """The formatter docs/ci.md shows sends no ``changes``: Andon reads them from git at
    ``[repo] path``."""
    shown = json.dumps(story.failed, ensure_ascii=False)
    assert RED_SUBJECT in shown
    assert "Maria Kovač" in shown
