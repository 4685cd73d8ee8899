"""A revision made ready to ship, as the deploy sees it: its manifest, and delta archives.

The tree is cut once per deploy (exported from the source, then the optional build command in
that clean directory) and every host gets an archive of only what differs from the release it
runs. ``bot/releases/bundle.py`` cuts it on this machine's filesystem; the build runs through
the ``Builder`` port, which the composition root runs in the build's jail.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from core.deploy import manifest
from core.deploy.manifest import Manifest
from core.deploy.source import Source

REVISION_FILE = "REVISION"
# Andon writes these itself: in every archive, but the manifest goes as edits when it can
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


class Bundle(Protocol):
    """One revision's tree, cut: what every host's release is checked against."""

    revision: str
    manifest: Manifest

    def listing(self) -> str:
        """The manifest as the release holds it (``manifest.dumps``), written once."""
        ...

    def archive(self, paths: Iterable[str], *, with_manifest: bool = True) -> tuple[Path, int]:
        """A gzip-compressed tar of ``paths`` plus Andon's own files (``ANDON_FILES``; the
        manifest left out when the host rebuilds it from edits); hosts with the same delta
        share it. Returns the archive and the number of tree files in it."""
        ...


class Cut(Protocol):
    def __call__(
        self,
        source: Source,
        revision: str,
        *,
        workdir: Path,
        build: str | None,
        builder: Builder | None = None,
        from_repo: bool = False,
    ) -> Bundle:
        """Export the revision into ``workdir`` and build it; the tree left behind is what
        ships. Raises ``BuildRefusedError`` when a build is asked for and ``builder`` is
        ``None``, ``BuildError``, ``SourceError`` or ``manifest.UnsafeTreeError``."""
        ...
