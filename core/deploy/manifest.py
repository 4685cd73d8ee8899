"""What a release holds: every path with its sha256 and mode, so deploys can send only the delta.

The manifest travels with the release (``.andon-manifest``), so the next deploy compares
against what the host really has, not against what Andon believes it sent. A tree on this
machine is scanned into one by ``bot/releases/bundle.py``.
"""

import hashlib
import json
from dataclasses import dataclass

FILE_NAME = ".andon-manifest"
_UNSAFE = ("\n", "\r", "\\")
_QUOTED = json.encoder.encode_basestring_ascii  # a JSON string, as json.dumps writes it


@dataclass(frozen=True)
class Entry:
    """A regular file (``sha256``) or a symlink (``link``), with its permission bits."""

    mode: int
    sha256: str | None = None
    link: str | None = None


Manifest = dict[str, Entry]


class UnsafeTreeError(Exception):
    """A tree Andon will not ship: names that a checksum list cannot express safely."""


def checked(relative: str) -> str:
    """A tree's path as the manifest may hold it: a checksum list cannot express every name."""
    if any(mark in relative for mark in _UNSAFE):
        raise UnsafeTreeError(f"{relative!r}: file names with newlines or \\ are refused")
    return relative


def dumps(manifest: Manifest) -> str:
    """One JSON document, a file per line: the next deploy sends only the lines that changed
    (``core/deploy/manifest_delta.py``)."""
    rows = ",\n".join(_line(path, entry) for path, entry in sorted(manifest.items()))
    return f'{{"version":1,"files":{{\n{rows}\n}}}}\n'


def _line(path: str, entry: Entry) -> str:
    """``json.dumps`` of one entry, written out: 5,000 files cost a few ms instead of 60."""
    row = f'{_QUOTED(path)}:{{"mode":{int(entry.mode)}'
    if entry.sha256 is not None:
        row += f',"sha256":{_QUOTED(entry.sha256)}'
    if entry.link is not None:
        row += f',"link":{_QUOTED(entry.link)}'
    return row + "}"


def loads(text: str | None) -> Manifest | None:
    """A manifest read back from a host; anything unexpected means "no usable manifest"."""
    if not text:
        return None
    try:
        rows = json.loads(text)["files"]
        found = {
            str(path): Entry(mode=int(row["mode"]), sha256=row.get("sha256"), link=row.get("link"))
            for path, row in rows.items()
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    # Its paths name files to delete and compare: one outside the release spoils the manifest.
    return None if any(not _inside(path) for path in found) else found


def _inside(path: str) -> bool:
    parts = path.split("/")
    unsafe = any(mark in path for mark in (*_UNSAFE, "\x00"))
    return bool(path) and not path.startswith("/") and ".." not in parts and not unsafe


def sums(manifest: Manifest) -> str:
    """The regular files as ``sha256sum -c`` reads them."""
    return "".join(
        f"{entry.sha256}  {path}\n"
        for path, entry in sorted(manifest.items())
        if entry.sha256 is not None
    )


def sum_line(text: str, name: str = FILE_NAME) -> str:
    """The ``sha256sum -c`` line of a file Andon writes itself, so the host checks it too."""
    return f"{hashlib.sha256(text.encode()).hexdigest()}  {name}\n"


def changes(old: Manifest, new: Manifest) -> tuple[list[str], list[str]]:
    """(paths to send, paths to delete): a different mode counts as a change of the file."""
    changed = [path for path, entry in sorted(new.items()) if old.get(path) != entry]
    deleted = [path for path in sorted(old) if path not in new]
    return changed, deleted
