"""A revision made ready to ship: its tree on this machine, its manifest, and delta archives.

The tree is cut once per deploy (``git archive``, then the optional build command in that clean
directory) and every host gets an archive of only what differs from the release it runs. The
build runs through the ``Builder`` port: the composition root runs it in the build's jail.
"""

import hashlib
import io
import tarfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from core.deploy import manifest
from core.deploy.manifest import Manifest
from core.deploy.source import Source

REVISION_FILE = "REVISION"
ANDON_FILES = (REVISION_FILE, manifest.FILE_NAME)


class BuildError(Exception):
    """The build command failed; the message ends with the tail of its output."""


class BuildRefusedError(Exception):
    """The build was not run at all; the message names the setting that would let it run."""


class Builder(Protocol):
    def __call__(self, command: str, *, cwd: Path, from_repo: bool) -> None:
        """Run a build command in ``cwd``: the server's own (trusted) or the repository's.

        Raises ``BuildError`` when it fails, ``BuildRefusedError`` when it may not run."""
        ...


@dataclass
class Bundle:
    revision: str
    root: Path
    manifest: Manifest
    _archives: dict[str, Path] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def archive(self, paths: Iterable[str]) -> tuple[Path, int]:
        """A tar of ``paths`` plus Andon's own files; hosts with the same delta share it.

        Returns the archive and the number of tree files in it.
        """
        chosen = sorted(paths)
        key = hashlib.sha256("\n".join(chosen).encode()).hexdigest()
        with self._lock:
            if key not in self._archives:
                self._archives[key] = self._write(chosen, key)
            return self._archives[key], len(chosen)

    def _write(self, paths: list[str], key: str) -> Path:
        target = self.root.with_name(f"delta-{key[:16]}.tar.gz")
        # gzip at its fastest level: the manifest and text compress well, and random bytes
        # cost little to try; a whole-second mtime keeps PAX from adding a header per file.
        with tarfile.open(target, "w:gz", compresslevel=1, format=tarfile.PAX_FORMAT) as tar:
            for path in paths:
                tar.add(self.root / path, arcname=path, recursive=False, filter=_anonymous)
            _add_text(tar, REVISION_FILE, f"{self.revision}\n")
            _add_text(tar, manifest.FILE_NAME, manifest.dumps(self.manifest))
        return target


def cut(
    source: Source,
    revision: str,
    *,
    workdir: Path,
    build: str | None,
    builder: Builder | None = None,
    from_repo: bool = False,
) -> Bundle:
    """Export the revision and build it; the tree left behind is what ships."""
    root = workdir / "tree"
    root.mkdir(parents=True)
    source.export(revision, root)
    if build:
        if builder is None:
            raise BuildRefusedError("this Andon has nothing to run a build with")
        builder(build, cwd=root, from_repo=from_repo)
    found = manifest.scan(root)
    for name in ANDON_FILES:
        found.pop(name, None)  # Andon writes these itself
    return Bundle(revision=revision, root=root, manifest=found)


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """No build machine's user names or ids travel to the hosts."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = int(info.mtime)
    return info


def _add_text(tar: tarfile.TarFile, name: str, text: str) -> None:
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))
