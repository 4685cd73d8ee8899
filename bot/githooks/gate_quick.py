"""The hook's short way to the database: the common push answered with the standard library.

Every push waits for the hook, and on the database path most of that wait was importing what
answers any question (SQLAlchemy, the ORM's tables, pydantic's config models: about 25 times
Python's own start) to answer one: does the line run? So a push that the full way would let
through without a word — no unchecked pushes to tell, no ref deleted or rewound, no
``[[gate.checks]]``, and the line running — is answered here: one read of the line's row and
its audit row, in one SQLite transaction, as the full way writes it.

Which refs are guarded is read from a stamp the full way leaves in ``$GIT_DIR`` once it has
loaded the config: the guarded globs, kept with the SHA-256 of the file they came from. A
config changed since (or never loaded, or broken) does not match its stamp, and the push goes
the full way, which validates it and says what is wrong exactly as before. Anything else the
short way does not know — PostgreSQL, a stopped line, a database it cannot read — returns
``None``, and the full way answers.
"""

import hashlib
import json
import os
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from core.gate.push import BadPushError, read

STAMP = "andon-gate-config.json"  # in $GIT_DIR, beside the unchecked pushes' log
_VERSION = 1
_SQLITE = "sqlite:///"
_BUSY_S = 30.0  # as storage.database waits for SQLite's write lock
_ACTION, _VIA = "gate.push", "git"  # core.gate.decide.ACTION; the hook's actor

Answer = tuple[bool, str, bool]


def answer(environ: Mapping[str, str], body: dict[str, Any]) -> Answer | None:
    """Andon's answer when the push needs nothing but a running line; else ``None``."""
    if body.get("unchecked"):
        return None
    where = _sqlite_file(environ.get("ANDON_DATABASE_URL") or "sqlite:///./andon.db")
    protected = _stamped(environ)
    if where is None or protected is None:
        return None
    try:
        push = read(body)
    except BadPushError:
        return None
    if any(update.rewrites for update in push.refs):
        return None
    guarded = any(fnmatchcase(u.ref, glob) for u in push.refs for glob in protected)
    detail = " ".join(
        f"{'+' if u.rewinds else ''}{u.ref} {u.old[:7]}..{u.new[:7]}" for u in push.refs
    )[:500]
    try:
        return _recorded(where, pusher=push.pusher, detail=detail, guarded=guarded)
    except (sqlite3.Error, OSError):
        return None


def stamp(environ: Mapping[str, str], *, source: bytes, protected: list[str]) -> None:
    """Called by the full way once the config in ``source`` has loaded: the next push reads
    its guarded refs from here, as long as the file still holds the same bytes."""
    facts = {
        "version": _VERSION,
        "config": _config_path(environ),
        "sha256": hashlib.sha256(source).hexdigest(),
        "protected": protected,
    }
    target = _stamp_path(environ)
    temporary = target.with_name(f".{STAMP}.{os.getpid()}")
    try:
        temporary.write_text(json.dumps(facts), encoding="utf-8")
        temporary.replace(target)
    except OSError:
        temporary.unlink(missing_ok=True)  # no stamp: the next push goes the full way again


def config_bytes(environ: Mapping[str, str]) -> bytes | None:
    """The hook's config file as it is now; ``None`` when there is none to read."""
    try:
        return Path(_config_path(environ)).read_bytes()
    except OSError:
        return None


def _stamped(environ: Mapping[str, str]) -> list[str] | None:
    """The guarded globs, if the stamp is of the config file as it is now."""
    source = config_bytes(environ)
    try:
        facts = json.loads(_stamp_path(environ).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        source is None
        or not isinstance(facts, dict)
        or facts.get("version") != _VERSION
        or facts.get("config") != _config_path(environ)
        or facts.get("sha256") != hashlib.sha256(source).hexdigest()
    ):
        return None
    protected = facts.get("protected")
    if not isinstance(protected, list) or not all(isinstance(g, str) for g in protected):
        return None
    return protected


def _recorded(where: str, *, pusher: str, detail: str, guarded: bool) -> Answer | None:
    """Read the line and write the audit row in one transaction, as the full way does."""
    connection = sqlite3.connect(where, timeout=_BUSY_S, isolation_level=None)
    try:
        connection.execute(f"PRAGMA busy_timeout={int(_BUSY_S * 1000)}")
        connection.execute("BEGIN IMMEDIATE")
        line = connection.execute("SELECT state FROM line WHERE id = 1").fetchone()
        if guarded and (line is None or line[0] != "running"):
            connection.execute("ROLLBACK")
            return None  # a stopped line: its refusal or its override is the full way's
        at = datetime.now(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        connection.execute(
            "INSERT INTO audit_entry (at, actor, actor_name, via, action, detail, outcome, "
            "message) VALUES (?, ?, ?, ?, ?, ?, 'ok', '')",
            (at, pusher, pusher, _VIA, _ACTION, detail),
        )
        connection.execute("COMMIT")
    finally:
        connection.close()  # a transaction still open is rolled back
    return True, "", True


def _sqlite_file(url: str) -> str | None:
    """The file of a plain ``sqlite:///<path>`` URL that exists; ``None`` for anything else."""
    if not url.startswith(_SQLITE):
        return None
    path = url.removeprefix(_SQLITE)
    if not path or any(c in path for c in "?%#") or path == ":memory:":
        return None
    return path if Path(path).is_file() else None


def _config_path(environ: Mapping[str, str]) -> str:
    return os.path.abspath(environ.get("ANDON_CONFIG") or "./andon.toml")


def _stamp_path(environ: Mapping[str, str]) -> Path:
    """Git runs hooks in ``$GIT_DIR``, as ``bot.githooks.unchecked`` finds it."""
    return Path(os.path.abspath(environ.get("GIT_DIR") or ".")) / STAMP
