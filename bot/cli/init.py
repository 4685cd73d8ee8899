"""``andon init``: the files a new install starts from, written into the current folder."""

from __future__ import annotations

import sys
from importlib.resources import files
from pathlib import Path

# The package's copy of each starter file (bot/starter/, identical to andon.example.toml and
# docs/slack-app-manifest.yml at the top of the sources) and the name it is written under.
STARTERS = {
    "andon.example.toml": "andon.toml",
    "slack-app-manifest.yml": "slack-app-manifest.yml",
}


def run(folder: Path | None = None) -> int:
    """Write andon.toml and the Slack app manifest, so an install from a wheel has both to
    edit; a file already there is left alone and nothing is written (exit 2)."""
    folder = folder or Path.cwd()
    taken = [name for name in STARTERS.values() if (folder / name).exists()]
    if taken:
        print(
            f"andon: {folder} already has {' and '.join(taken)}; andon init writes over no "
            "file — move it away first, or edit it as it is.",
            file=sys.stderr,
        )
        return 2
    starter = files("bot").joinpath("starter")
    for source, name in STARTERS.items():
        (folder / name).write_text(starter.joinpath(source).read_text("utf-8"), "utf-8")
    print(
        f"Wrote andon.toml (check it with `andon config check`) and slack-app-manifest.yml "
        f"(paste it at https://api.slack.com/apps → Create New App → From an app manifest) "
        f"in {folder}."
    )
    return 0
