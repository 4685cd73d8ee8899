"""The hosts as ``core`` sees them: a few filesystem moves and commands, over SSH or locally.

A deploy is written once against this port; ``bot/hosts/ssh.py`` speaks it over paramiko
(SFTP for the moves, one exec channel per command) and ``bot/hosts/local.py`` on this
machine's own filesystem, for ``hosts = ["local"]`` and the demo. Both keep the rules at the end
of this module: paths from a manifest stay inside the release, ``rm -rf`` only below ``/``.
"""

import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Generic, Protocol, TypeVar

from core.config.hosts import LOCAL, Host

OUTPUT_TAIL = 4000  # characters of a command's output worth keeping: the end says what failed


@dataclass(frozen=True)
class CommandResult:
    """What a command on a host answered: its exit status and the tail of its output."""

    status: int
    output: str

    @property
    def ok(self) -> bool:
        return self.status == 0


@dataclass(frozen=True)
class Unpacked:
    """What ``Connection.stage_tree`` did: the bytes sent (the archive and a patch's edits),
    and the files that do not match their sums (empty when the tree is complete)."""

    bytes_sent: int
    mismatched: list[str]


@dataclass(frozen=True)
class Patch:
    """A file of a new release rebuilt on the host from its namesake in the base release and
    ``core/deploy/manifest_delta.py`` edits, instead of travelling whole in the archive."""

    name: str  # relative to the release directory
    edits: str


T = TypeVar("T")


class Later(Generic[T]):
    """A question already sent to a host, its answer read by ``result()`` (``HostError`` when
    the host failed). Asking every host before reading any answer makes a hundred hosts cost
    one round trip from one thread, where a thread per host waits its turn for each."""

    def __init__(self, answer: Callable[[], T]) -> None:
        self._answer = answer

    def result(self) -> T:
        return self._answer()


class HostError(Exception):
    """A host could not do what was asked. The message names the reason, never a secret."""


class HostKeyError(HostError):
    """The host's key is unknown or has changed: never accepted blindly, so nothing happens."""


class Connection(Protocol):
    """One open connection to one host, reused for every step of a deploy.

    Paths are absolute on the host. Every method raises ``HostError`` when the host fails.
    """

    address: str

    def read_text(self, path: str) -> str | None:
        """The file's text, or ``None`` when it does not exist."""
        ...

    def exists(self, path: str) -> bool: ...

    def list_dir(self, path: str) -> list[str]:
        """Names in a directory; empty when it does not exist."""
        ...

    def read_link(self, path: str) -> str | None:
        """Where a symlink points, or ``None`` when there is no symlink."""
        ...

    def look(self, link: str, paths: Sequence[str]) -> tuple[str | None, list[bool]]:
        """Where the symlink ``link`` points (``None`` when there is none) and which of
        ``paths`` exist, asked together: over SSH one round trip instead of one per question,
        which is most of a rollback's look at its hosts."""
        ...

    def look_soon(self, link: str, paths: Sequence[str]) -> Later[tuple[str | None, list[bool]]]:
        """``look``, asked now and answered later."""
        ...

    def make_dirs(self, path: str) -> None: ...

    def link_copy(self, source: str, target: str) -> None:
        """A copy of the tree ``source`` whose files are hard links (``cp -al``)."""
        ...

    def remove_tree(self, path: str) -> None:
        """``rm -rf``: no error when it is already gone."""
        ...

    def remove_files(self, root: str, paths: Sequence[str]) -> None:
        """Unlink files given relative to ``root``; missing ones are fine."""
        ...

    def unpack(self, directory: str, archive: BinaryIO) -> int:
        """Extract a gzip-compressed tar stream into an existing directory; returns the bytes
        sent."""
        ...

    def verify(self, directory: str, sums: str) -> list[str]:
        """Check ``sha256sum``-format lines against the files under ``directory``.

        Returns the relative paths that are missing or differ; empty means all match.
        """
        ...

    def stage_tree(
        self,
        directory: str,
        *,
        base: str | None,
        remove: Sequence[str],
        archive: BinaryIO,
        sums: str,
        patch: Patch | None = None,
    ) -> Unpacked:
        """Build a release directory in one go and check it.

        ``directory`` (which must not exist when ``base`` is given) becomes a hard-linked copy
        of ``base``, or an empty directory; ``remove`` (relative to it) is unlinked; ``archive``,
        a gzip-compressed tar, is extracted into it; ``patch``, with a ``base``, writes its file
        anew from the base's (left missing when the edits do not fit: ``sums`` names it); and
        the result is checked against ``sums`` — the steps of ``link_copy``, ``remove_files``,
        ``unpack`` and ``verify``, with their checks. Over SSH it is one command instead of
        three: each exec channel costs the host a session and a shell, more than the work of a
        small delta.
        """
        ...

    def write_text(self, path: str, text: str) -> None: ...

    def rename(self, source: str, target: str) -> None:
        """``rename(2)``: atomically replaces ``target``, even a symlink."""
        ...

    def repoint(self, link: str, target: str, *, through: str) -> None:
        """Make the symlink ``link`` point at ``target`` in one atomic step: a new symlink
        ``through``, renamed over ``link``. Over SSH both requests travel together, so a flip
        costs one round trip; on failure ``through`` is gone and ``link`` unchanged."""
        ...

    def repoint_soon(self, link: str, target: str, *, through: str) -> Later[None]:
        """``repoint``, asked now and answered later."""
        ...

    def run(self, command: str, *, cwd: str, timeout: float) -> CommandResult:
        """Run a shell command in ``cwd``; a timeout is a ``HostError``."""
        ...

    def close(self) -> None:
        """Done with the host for now (a pooled transport may keep the connection warm)."""
        ...


class Transport(Protocol):
    """Opens connections to the hosts of one environment."""

    def connect(self, host: Host) -> Connection:
        """Connect and authenticate, checking the host key; raises ``HostError``."""
        ...

    def close(self) -> None:
        """Close every connection this transport keeps open."""
        ...


def path_inside(path: str, address: str = LOCAL) -> str:
    """Paths from a manifest stay under the release directory, whatever the manifest says."""
    normalized = posixpath.normpath(path)
    if posixpath.isabs(path) or normalized == ".." or normalized.startswith("../"):
        raise HostError(f"{address}: {path!r} is outside the release directory")
    return normalized


def removable(path: str, address: str = LOCAL) -> str:
    """``rm -rf`` only on absolute paths below the root, whatever the caller passed."""
    normalized = posixpath.normpath(path)
    if not posixpath.isabs(normalized) or normalized == "/":
        raise HostError(f"{address}: refusing to remove {path!r}: not an absolute path below /")
    return normalized


def parse_sums(sums: str, address: str = LOCAL) -> list[tuple[str, str]]:
    """``sha256sum`` lines: ``<hex>  <path>``, or ``<hex> *<path>`` as written in binary mode.

    Each path must stay inside the directory checked: a manifest is not trusted to.
    """
    parsed: list[tuple[str, str]] = []
    for line in sums.splitlines():
        if not line.strip():
            continue
        digest, separator, rest = line.partition(" ")
        if not separator or len(digest) != 64 or rest[:1] not in (" ", "*") or not rest[1:]:
            raise HostError(f"{address}: not a sha256sum line: {line[:100]!r}")
        parsed.append((digest.lower(), path_inside(rest[1:], address)))
    return parsed
