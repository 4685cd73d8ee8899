"""``andon demo``: the whole production line, told in the terminal in well under a minute.

A stage of its own in a temporary directory — a git server with Andon's gate hook, a clone, a
``local`` host, SQLite — and the real engine with the terminal as the channel. Nothing of the
caller's configuration, database or Slack is read or touched.
"""

import shutil
import sys
import tempfile
import time
from pathlib import Path

from bot import startup
from bot.demo import stage as stages
from bot.demo.floor import Floor
from bot.demo.stage import Repo, Stage
from bot.demo.story import Story
from bot.githooks import gate as gate_hook
from bot.workers.digests import digest_text


def run(*, keep: bool) -> int:
    """Tell the story; remove the stage afterwards unless ``keep`` (then say where it is)."""
    began = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="andon-demo-"))
    try:
        stage = stages.build(root)
        repo = Repo(stage)
        repo.create()
        floor = Floor(stage)  # migrates the database: the hook reads it at the first push
        startup.done()  # the story runs for a minute
        try:
            if _install_gate(stage, floor) != 0:
                return 1
            floor.start()
            story = Story(stage=stage, floor=floor, repo=repo)
            story.tell()
            _digest(story, floor)
        finally:
            floor.stop()
        print(f"\nThe whole story took {time.monotonic() - began:.1f} s.")
    finally:
        if keep:
            _kept(root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


def _install_gate(stage: Stage, floor: Floor) -> int:
    """``andon gate install app.git``, exactly: the hook reads this demo's database."""
    print(f"Andon demo — a production line of its own in {stage.root}")
    print(f"$ andon gate install {stage.bare}")
    sys.stdout.flush()
    return gate_hook.install_command(floor.settings, str(stage.bare))


def _digest(story: Story, floor: Floor) -> None:
    """The week so far as Monday's digest will show it: this story is all of its week."""
    story.heading("The digest: the week's stops, investments and deploys")
    print(digest_text(floor.andon, week=None))


def _kept(root: Path) -> None:
    print(f"\nThe stage is kept in {root}. Look around, or carry on where the story ended:")
    print(f"  export ANDON_CONFIG={root / 'andon.toml'}")
    print(f"  export ANDON_DATABASE_URL=sqlite:///{root / 'andon.db'}")
    print("  andon shell --as maria")
