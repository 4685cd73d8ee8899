"""What a release holds: every path with its sha256 and mode, so deploys can send only the delta.

The manifest travels with the release (``.andon-manifest``), so the next deploy compares
against what the host really has, not against what Andon believes it sent. A tree on this
machine is scanned into one by ``bot/releases/bundle.py``.
"""

import json
from dataclasses import dataclass

FILE_NAME = ".andon-manifest"
_UNSAFE = ("\n", "\r", "\\")


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
    rows = {path: _row(entry) for path, entry in sorted(manifest.items())}
    return json.dumps({"version": 1, "files": rows}, separators=(",", ":"))


def _row(entry: Entry) -> dict[str, object]:
    row: dict[str, object] = {"mode": entry.mode}
    if entry.sha256 is not None:
        row["sha256"] = entry.sha256
    if entry.link is not None:
        row["link"] = entry.link
    return row


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


def changes(old: Manifest, new: Manifest) -> tuple[list[str], list[str]]:
    """(paths to send, paths to delete): a different mode counts as a change of the file."""
    changed = [path for path, entry in sorted(new.items()) if old.get(path) != entry]
    deleted = [path for path in sorted(old) if path not in new]
    return changed, deleted
