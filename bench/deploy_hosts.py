"""The hosts of ``deploy.py`` and the releases on them, seen from this machine (the hosts'
directories are local): what is live, set untimed, and the git checkouts deployed.
"""

import os
from contextlib import suppress
from pathlib import Path

import common  # noqa: F401  (importing it puts the project root on sys.path)

from tests.git_server import GitWorkspace


def live_on(path: str) -> str | None:
    """What ``current`` points at, read on the local filesystem (the hosts are this machine)."""
    try:
        return os.readlink(f"{path}/current").rstrip("/").rsplit("/", 1)[-1]
    except OSError:
        return None


def point_locally(paths: list[str], revision: str) -> None:
    """Set ``current`` without SSH (untimed, between measurements): an atomic local rename."""
    for path in paths:
        temporary = f"{path}/.current.bench"
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        os.symlink(f"releases/{revision}", temporary)
        os.replace(temporary, f"{path}/current")


def git_commit(workspace: GitWorkspace, files: dict[str, bytes], message: str) -> str:
    for name, data in files.items():
        path = workspace.clone / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    workspace.git("add", "-A")
    workspace.git("commit", "-q", "-m", message)
    return workspace.git("rev-parse", "HEAD").strip()


def workspace(root: Path) -> GitWorkspace:
    """A repository whose git ignores this host's configuration (as tests/git_server.py does)."""
    return GitWorkspace(root, author=("Dana Kim", "dana@example.com"), env={})
