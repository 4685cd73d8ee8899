"""The source of releases as ``git`` reads it: a local clone (bare or not) of ``[repo] path``.

git gets revisions as arguments, never through a shell, and only once ``core`` found them
plausible; what comes back is the full 40-hex-digit sha or nothing.
"""

import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path

from core.deploy.source import SourceError, is_sha, plausible

_GIT_TIMEOUT = 120
_KNOWN_COMMITS = 1024  # commit times kept from ``resolve``; forgotten all at once past this


class GitSource:
    """A local clone (bare or not) that git reads directly."""

    def __init__(self, repository: str | Path) -> None:
        self._repository = Path(repository).expanduser()
        # A commit's time never changes: learnt with its sha, so a request asks git once.
        self._committed: dict[str, datetime] = {}

    def resolve(self, revision: str) -> str | None:
        if not plausible(revision):
            return None
        commit = f"{revision}^{{commit}}"
        found = self._git("rev-list", "--no-walk", "--timestamp", commit, "--", check=False)
        seconds, _, sha = found.stdout.decode().strip().partition(" ")
        if found.returncode != 0 or not is_sha(sha) or not seconds.isdigit():
            return None
        if len(self._committed) >= _KNOWN_COMMITS:
            self._committed.clear()
        self._committed[sha] = datetime.fromtimestamp(int(seconds), UTC)
        return sha

    def export(self, revision: str, into: Path) -> None:
        if not is_sha(revision):
            raise SourceError(f"{revision!r} is not a full sha")
        archive = into.with_name(f"{into.name}.tar")
        with archive.open("wb") as out:
            done = subprocess.run(
                ["git", "-C", str(self._repository), "archive", "--format=tar", revision],
                stdout=out,
                stderr=subprocess.PIPE,
                timeout=_GIT_TIMEOUT,
                check=False,
            )
        if done.returncode != 0:
            raise SourceError(f"git archive {revision[:7]} failed: {_tail(done.stderr)}")
        with tarfile.open(archive) as tar:
            tar.extractall(into, filter="data")
        archive.unlink()

    def read(self, revision: str, path: str) -> str | None:
        if not is_sha(revision):
            raise SourceError(f"{revision!r} is not a full sha")
        found = self._git("show", f"{revision}:{path}", check=False)
        return found.stdout.decode(errors="replace") if found.returncode == 0 else None

    def is_ancestor(self, older: str, newer: str) -> bool:
        if not (is_sha(older) and is_sha(newer)):
            return False
        return self._git("merge-base", "--is-ancestor", older, newer, check=False).returncode == 0

    def committed_at(self, revision: str) -> datetime | None:
        if not is_sha(revision):
            return None
        if revision in self._committed:
            return self._committed[revision]
        found = self._git("show", "-s", "--format=%ct", revision, check=False)
        seconds = found.stdout.decode().strip()
        if found.returncode != 0 or not seconds.isdigit():
            return None
        return datetime.fromtimestamp(int(seconds), UTC)

    def _git(self, *args: str, check: bool) -> subprocess.CompletedProcess[bytes]:
        if not self._repository.exists():
            raise SourceError(f"[repo] path {self._repository} does not exist")
        return subprocess.run(
            ["git", "-C", str(self._repository), *args],
            capture_output=True,
            timeout=_GIT_TIMEOUT,
            check=check,
        )


def _tail(output: bytes) -> str:
    return output.decode(errors="replace").strip()[-300:] or "no output"
