"""A revision made ready to ship: its tree on this machine, its manifest, and delta archives.

The tree is cut once per deploy (``git archive``, then the optional build command in that clean
directory) and every host gets an archive of only what differs from the release it runs.
"""

import hashlib
import io
import os
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.deploy import manifest
from core.deploy.manifest import Manifest
from core.deploy.source import Source

REVISION_FILE = "REVISION"
ANDON_FILES = (REVISION_FILE, manifest.FILE_NAME)
_BUILD_TIMEOUT = 30 * 60


class BuildError(Exception):
    """The build command failed; the message ends with the tail of its output."""


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


def cut(source: Source, revision: str, *, workdir: Path, build: str | None) -> Bundle:
    """Export the revision and build it; the tree left behind is what ships."""
    root = workdir / "tree"
    root.mkdir(parents=True)
    source.export(revision, root)
    if build:
        _build(build, root)
    found = manifest.scan(root)
    for name in ANDON_FILES:
        found.pop(name, None)  # Andon writes these itself
    return Bundle(revision=revision, root=root, manifest=found)


def _build(command: str, root: Path) -> None:
    with tempfile.TemporaryFile() as output:
        try:
            done = subprocess.run(
                ["sh", "-c", command],
                cwd=root,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=_BUILD_TIMEOUT,
                start_new_session=True,
                env=_clean_environment(),
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise BuildError(f"build command timed out after {_BUILD_TIMEOUT // 60} min") from None
        if done.returncode != 0:
            output.seek(max(0, output.tell() - 600))
            tail = output.read().decode(errors="replace").strip()
            raise BuildError(f"build command exited {done.returncode}: {tail}")


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


def _clean_environment() -> dict[str, str]:
    """The build runs without Andon's secrets in its environment."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("ANDON_", "SLACK_"))}
