"""Where releases are cut from: the port of the git repository of ``[repo] path``.

Revisions people type are checked before the repository sees them (``plausible``); what comes
back is the full 40-hex-digit sha or nothing. ``bot/releases/git.py`` speaks it with ``git``.
"""

import re
from datetime import datetime
from pathlib import Path
from typing import Protocol

_SPELLING = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,199}")
_SHA = re.compile(r"[0-9a-f]{40}")


class SourceError(Exception):
    """The repository could not give what a deploy needs; the message says what to fix."""


class Source(Protocol):
    def resolve(self, revision: str) -> str | None:
        """A branch, tag or (abbreviated) sha → the full sha of the commit, or ``None``."""
        ...

    def export(self, revision: str, into: Path) -> None:
        """Write the tree of a full sha into an empty directory."""
        ...

    def read(self, revision: str, path: str) -> str | None:
        """One file of the tree at a revision, or ``None`` when it has none."""
        ...

    def is_ancestor(self, older: str, newer: str) -> bool:
        """Whether ``newer`` contains ``older`` (both full shas)."""
        ...

    def committed_at(self, revision: str) -> datetime | None:
        """When a full sha was committed (the committer's time): the start of its lead time."""
        ...


def plausible(revision: str) -> bool:
    """What a person may type as a revision: a ref name or a sha, no options, no ``..``."""
    return bool(_SPELLING.fullmatch(revision)) and ".." not in revision


def is_sha(text: str) -> bool:
    return bool(_SHA.fullmatch(text))
