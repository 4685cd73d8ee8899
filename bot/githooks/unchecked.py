"""Pushes the commit check let through unchecked (``[gate] fail_open``), kept in the repository.

When Andon cannot be reached and ``fail_open`` lets a push land, the hook appends one JSON line
to ``$GIT_DIR/andon-unchecked.log``; the next push whose hook reaches Andon sends them along,
Andon tells the channel once, and the lines it was sent are taken out of the file. Every change
to the file is made under ``flock``, so concurrent pushes neither interleave nor lose a line.
Only the standard library is imported (not ``typing``, ``pathlib`` nor ``secrets``): this runs
at every push.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from contextlib import contextmanager

from core.gate.refs import check_update

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: ``typing`` is not imported when the hook runs
    from collections.abc import Iterator, Mapping
    from typing import Any, BinaryIO

FILE = "andon-unchecked.log"
MAX_SENT = 100  # sent along with one push; the rest go with the next ones
MAX_REASON = 1000
MAX_REFS = 1000
MAX_PUSHER = 255
_ID = re.compile(r"[0-9a-f]{16}")


class UnrecordedError(Exception):
    """The record could not be written: the push must not pass unseen."""


def path(environ: Mapping[str, str]) -> str:
    """The file in the repository the hook guards (git runs hooks in ``$GIT_DIR``)."""
    return os.path.join(os.path.abspath(environ.get("GIT_DIR") or "."), FILE)


def record(environ: Mapping[str, str], body: Mapping[str, Any], *, reason: str) -> str:
    """One line for a push let through unchecked: who, which refs, when, and why unchecked."""
    from datetime import UTC, datetime

    line = {
        "id": os.urandom(8).hex(),  # what ``secrets.token_hex(8)`` reads, without its imports
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "pusher": body.get("pusher", "unknown"),
        "refs": list(body.get("refs", [])),
        "reason": reason[:MAX_REASON],
    }
    where = path(environ)
    data = (json.dumps(line, ensure_ascii=True) + "\n").encode()
    try:
        with _locked(where, "ab") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except OSError as failed:
        said = failed.strerror or str(failed)
        raise UnrecordedError(f"{where} could not be written ({said})") from None
    return where


def pending(environ: Mapping[str, str]) -> list[dict[str, Any]]:
    """The oldest records not yet told, at most ``MAX_SENT``; a line that does not read is
    skipped (and kept), never a reason to refuse a push."""
    where = path(environ)
    if not os.path.exists(where):
        return []
    try:
        with _locked(where, "rb") as file:
            lines = file.read().splitlines()
    except OSError:
        return []
    return [entry for entry in map(_entry, lines) if entry is not None][:MAX_SENT]


def forget(environ: Mapping[str, str], told: list[dict[str, Any]]) -> None:
    """Andon has the records ``told``: take exactly those lines out, keep any added since."""
    ids = {entry["id"] for entry in told}
    if not ids:
        return
    where = path(environ)
    try:
        with _locked(where, "r+b") as file:
            lines = file.read().splitlines()
            kept = [line for line in lines if (_entry(line) or {}).get("id") not in ids]
            file.seek(0)
            file.truncate()
            file.write(b"".join(line + b"\n" for line in kept))
            file.flush()
            os.fsync(file.fileno())
    except OSError:
        pass  # told again with the next push: Andon announces each record once


def _entry(line: bytes) -> dict[str, Any] | None:
    """A line as ``record`` wrote it, else None: a hand-edited line must not refuse pushes."""
    from datetime import datetime

    try:
        entry = json.loads(line)
        refs = entry["refs"]
        for r in refs:
            check_update(r["old"], r["new"], r["ref"])
        fields = (entry["id"], entry["at"], entry["pusher"], entry["reason"])
        datetime.fromisoformat(entry["at"])
    except (ValueError, KeyError, TypeError, AttributeError):  # BadPushError is a ValueError
        return None
    if not all(isinstance(f, str) for f in fields) or not _ID.fullmatch(entry["id"]):
        return None
    if not refs or len(refs) > MAX_REFS or not 0 < len(entry["pusher"]) <= MAX_PUSHER:
        return None
    return {**entry, "reason": entry["reason"][:MAX_REASON]}


@contextmanager
def _locked(where: str, mode: str) -> Iterator[BinaryIO]:
    with open(where, mode) as file:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX)
        try:
            yield file  # type: ignore[misc]
        finally:
            fcntl.flock(file.fileno(), fcntl.LOCK_UN)
