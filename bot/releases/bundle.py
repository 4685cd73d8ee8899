"""A revision cut on this machine: its tree exported and built, every file hashed, and the
delta archives the hosts are sent (``core/deploy/bundle.py``'s port).
"""

import hashlib
import io
import os
import stat
import tarfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.deploy import manifest
from core.deploy.bundle import ANDON_FILES, REVISION_FILE, Builder, BuildRefusedError
from core.deploy.manifest import Entry, Manifest
from core.deploy.source import Source


@dataclass
class TreeBundle:
    """The tree of one revision in a directory of this machine, and the archives cut from it."""

    revision: str
    root: Path
    manifest: Manifest
    _archives: dict[str, Path] = field(default_factory=dict)
    _listing: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def listing(self) -> str:
        """The manifest as the release holds it, written once for every host."""
        with self._lock:
            if self._listing is None:
                self._listing = manifest.dumps(self.manifest)
            return self._listing

    def archive(self, paths: Iterable[str], *, with_manifest: bool = True) -> tuple[Path, int]:
        """A tar of ``paths`` plus Andon's own files; hosts with the same delta share it.

        Returns the archive and the number of tree files in it.
        """
        chosen = sorted(paths)
        key = hashlib.sha256("\n".join([str(with_manifest), *chosen]).encode()).hexdigest()
        listing = self.listing() if with_manifest else None
        with self._lock:
            if key not in self._archives:
                self._archives[key] = self._write(chosen, key, listing)
            return self._archives[key], len(chosen)

    def _write(self, paths: list[str], key: str, listing: str | None) -> Path:
        target = self.root.with_name(f"delta-{key[:16]}.tar.gz")
        # gzip at its fastest level: the manifest and text compress well, and random bytes
        # cost little to try; a whole-second mtime keeps PAX from adding a header per file.
        with tarfile.open(target, "w:gz", compresslevel=1, format=tarfile.PAX_FORMAT) as tar:
            for path in paths:
                tar.add(self.root / path, arcname=path, recursive=False, filter=_anonymous)
            _add_text(tar, REVISION_FILE, f"{self.revision}\n")
            if listing is not None:
                _add_text(tar, manifest.FILE_NAME, listing)
        return target


def cut(
    source: Source,
    revision: str,
    *,
    workdir: Path,
    build: str | None,
    builder: Builder | None = None,
    from_repo: bool = False,
) -> TreeBundle:
    """Export the revision and build it; the tree left behind is what ships."""
    root = workdir / "tree"
    root.mkdir(parents=True)
    source.export(revision, root)
    if build:
        if builder is None:
            raise BuildRefusedError("this Andon has nothing to run a build with")
        builder(build, cwd=root, from_repo=from_repo)
    found = scan(root)
    for name in ANDON_FILES:
        found.pop(name, None)  # Andon writes these itself
    return TreeBundle(revision=revision, root=root, manifest=found)


def scan(root: Path) -> Manifest:
    """Hash every file under ``root``; symlinks are recorded, never followed."""
    found: Manifest = {}
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        for name in [*files, *(d for d in dirs if Path(directory, d).is_symlink())]:
            path = Path(directory, name)
            found[manifest.checked(path.relative_to(root).as_posix())] = _entry(path)
    return found


def _entry(path: Path) -> Entry:
    info = path.lstat()
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISLNK(info.st_mode):
        return Entry(mode=mode, link=os.readlink(path))
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for chunk in iter(lambda: data.read(1 << 20), b""):
            digest.update(chunk)
    return Entry(mode=mode, sha256=digest.hexdigest())


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
