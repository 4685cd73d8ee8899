"""The line's repository read for a commit's subject and author, with git, cheaply.

One ``git show -s`` per build result that lacks them: a validated full sha as an argument (never
through a shell), a short timeout, and a bounded answer. Anything wrong reads as "not known".
"""

import logging
import re
import subprocess
from pathlib import Path

from core.ci.commits import Commit

log = logging.getLogger(__name__)

_SHA = re.compile(r"[0-9a-f]{40}")
TIMEOUT = 5.0
_LONGEST = 4_000  # bytes of git's answer kept: a subject longer than this is clipped anyway


class GitCommits:
    """``[repo] path`` (bare or not), read only."""

    def __init__(self, repository: str | Path) -> None:
        self._repository = Path(repository).expanduser()

    def about(self, revision: str) -> Commit | None:
        if not _SHA.fullmatch(revision) or not self._repository.is_dir():
            return None
        try:
            done = subprocess.run(
                [
                    "git",
                    "-C",
                    str(self._repository),
                    "show",
                    "-s",
                    "--no-show-signature",
                    "--format=%s%x00%an%x00%ae",
                    revision,
                    "--",
                ],
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as failed:
            log.warning(
                "could not read commit %s from %s: %s", revision[:7], self._repository, failed
            )
            return None
        if done.returncode != 0:
            return None
        fields = done.stdout[:_LONGEST].decode(errors="replace").rstrip("\n").split("\x00")
        if len(fields) != 3:
            return None
        subject, name, email = (field.strip() for field in fields)
        return Commit(subject=subject, author_name=name, author_email=email)
