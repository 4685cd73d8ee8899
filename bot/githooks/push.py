"""What a pre-receive hook knows about the push it guards, read from git and the hook's environment.

During pre-receive the pushed objects sit in git's quarantine, visible only to processes that
carry the hook's ``GIT_DIR``/``GIT_QUARANTINE_PATH``/``GIT_OBJECT_DIRECTORY`` variables: git runs
here with the hook's environment as it is. The result is the body of ``POST /api/gate``; only the
standard library is imported (and neither ``typing`` nor ``dataclasses``), since this runs at
every push. The common push — one branch moved forward — costs one ``git log``: the parents it
prints say whether the update is a fast-forward, and ``git merge-base`` is asked only when they
do not.
"""

from __future__ import annotations

import re

from bot.githooks import git_process
from core.gate.refs import ZERO, BadPushError, check_update

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: ``typing`` is not imported when the hook runs
    from collections.abc import Iterable, Mapping
    from typing import Any

GIT_TIMEOUT = 20
MAX_COMMITS = 10_000  # what POST /api/gate accepts
MAX_TEXT = 1000  # the longest subject, author, trailer key or value POST /api/gate accepts
MAX_OPTIONS = 100
# Who pushed: the forge's authenticated user first (GitLab runs every hook as one system user,
# its own `git`), then the account that runs git-receive-pack (ssh or a local push).
PUSHER_VARIABLES = ("GL_USERNAME", "USER", "LOGNAME")

_OID = re.compile(r"[0-9a-f]{40}")
# One commit is one record of NUL-ended fields, begun by an empty one: git ends a text field at
# a NUL (it reads a message or a name as C text), a path can hold none and is never empty, and a
# trailer is one line (unfolded) whose key is letters, digits and "-". So nothing a commit says
# — no separator, no 40 hex, no byte of any encoding — can move a field or a record boundary.
# The parents (``%P``) are not sent: they tell whether an update is a fast-forward.
_FORMAT = (
    "%x00%H%x00%P%x00%an <%ae>%x00%s"
    "%x00%(trailers:only,unfold,separator=%x0a,key_value_separator=%x1f)"
)
_FIELDS = 5  # sha, parents, author, subject, trailers; paths follow, the first after a newline
_PARENTS = re.compile(r"(?:[0-9a-f]{40}(?: [0-9a-f]{40})*)?")


class UnreadablePushError(Exception):
    """The push could not be read: a line git would not send, or git failing."""


def read(lines: Iterable[str], environ: Mapping[str, str]) -> dict[str, Any] | None:
    """``POST /api/gate``'s body for the ``<old> <new> <ref>`` lines; None when nothing moves."""
    refs = [_ref(line) for line in lines if line.strip()]
    if not refs:
        return None
    commits = _commits(refs, environ)
    for update in refs:
        if update["old"] != ZERO and update["new"] != ZERO:
            forward = update.pop("forward", False)  # seen among the parents git log printed
            update["forced"] = not (forward or _descends(update["old"], update["new"], environ))
    return {
        "refs": refs,
        "commits": commits,
        "push_options": push_options(environ),
        "pusher": pusher(environ),
    }


def push_options(environ: Mapping[str, str]) -> list[str]:
    """``git push -o …`` as git hands them to the hook (when the repository advertises them)."""
    try:
        count = int(environ.get("GIT_PUSH_OPTION_COUNT", "0"))
    except ValueError:
        return []
    options = [environ.get(f"GIT_PUSH_OPTION_{i}", "") for i in range(min(count, MAX_OPTIONS))]
    return [option[:MAX_TEXT] for option in options]


def pusher(environ: Mapping[str, str]) -> str:
    """The first of ``$GL_USERNAME``, ``$USER``, ``$LOGNAME`` that is set, else "unknown"."""
    for name in PUSHER_VARIABLES:
        value = environ.get(name, "").strip()
        if value:
            return value[:255]
    return "unknown"


def _ref(line: str) -> dict[str, Any]:
    parts = line.split()
    if len(parts) != 3 or not (_OID.fullmatch(parts[0]) and _OID.fullmatch(parts[1])):
        raise UnreadablePushError(
            f"{line.strip()[:120]!r} is not an '<old> <new> <ref>' line of SHA-1 ids"
        )
    try:  # checked before git is asked anything about the push
        check_update(parts[0], parts[1], parts[2])
    except BadPushError as bad:
        raise UnreadablePushError(str(bad)) from bad
    return {"old": parts[0], "new": parts[1], "ref": parts[2]}


def _descends(old: str, new: str, environ: Mapping[str, str]) -> bool:
    """Whether ``new`` contains ``old`` (a fast-forward); anything git cannot answer "yes" to —
    a tag moved onto a tree, say — counts as a rewind, the guarded side."""
    try:
        status, _, _ = git_process.run(
            ["merge-base", "--is-ancestor", old, new], environ, timeout=GIT_TIMEOUT
        )
    except TimeoutError:
        raise UnreadablePushError(f"git merge-base took longer than {GIT_TIMEOUT} s") from None
    except OSError as broken:
        raise UnreadablePushError(f"git merge-base could not be run: {broken}") from broken
    return status == 0


def _commits(refs: list[dict[str, Any]], environ: Mapping[str, str]) -> list[dict[str, Any]]:
    """The commits this push brings, each once: new to the repository or new to its ref. An
    update whose ``old`` is a parent of one of them is a fast-forward (that commit is reachable
    from ``new``), and is marked ``forward``; any other update is for ``git merge-base``."""
    found: dict[str, dict[str, Any]] = {}
    for update in refs:
        if update["new"] == ZERO:
            continue  # a deletion brings nothing
        if update["old"] == ZERO:
            revisions = [update["new"], "--not", "--all"]
        else:
            revisions = [f"{update['old']}..{update['new']}"]
        for commit, parents in _log(revisions, environ, limit=MAX_COMMITS - len(found)):
            if update["old"] in parents:
                update["forward"] = True
            found.setdefault(commit["sha"], {**commit, "refs": []})["refs"].append(update["ref"])
        if len(found) >= MAX_COMMITS:
            break
    return list(found.values())


def _log(
    revisions: list[str], environ: Mapping[str, str], *, limit: int
) -> list[tuple[dict[str, Any], list[str]]]:
    # Settings of the server's git config that would change what log prints are pinned here.
    command = [
        "-c",
        "log.showRoot=true",
        "-c",
        "log.showSignature=false",
        "log",
        f"--max-count={limit}",
        "--no-color",
        "--no-renames",
        "--no-ext-diff",
        "--diff-merges=first-parent",  # a merge's paths: what it brings to the branch
        "--name-only",
        "-z",
        f"--format={_FORMAT}",
        *revisions,
        "--",
    ]
    try:
        status, out, err = git_process.run(command, environ, timeout=GIT_TIMEOUT)
    except TimeoutError:
        raise UnreadablePushError(f"git log took longer than {GIT_TIMEOUT} s") from None
    except OSError as broken:
        raise UnreadablePushError(f"git log could not be run: {broken}") from broken
    if status != 0:
        said = err.decode("utf-8", "replace").strip().splitlines()
        raise UnreadablePushError(f"git log {' '.join(revisions)} failed: {' '.join(said)[:300]}")
    return _records(out)


def _records(out: bytes) -> list[tuple[dict[str, Any], list[str]]]:
    """The commits in ``git log``'s output, each with its parents; anything not in its shape
    refuses the push."""
    fields = out.split(b"\x00")
    commits: list[tuple[dict[str, Any], list[str]]] = []
    at = 0
    while at < len(fields) - 1 or (at < len(fields) and fields[at]):
        head = fields[at + 1 : at + 1 + _FIELDS]
        if (
            fields[at]
            or len(head) < _FIELDS
            or not _OID.fullmatch(_text(head[0]))
            or not _PARENTS.fullmatch(_text(head[1]))
        ):
            raise UnreadablePushError(f"git log printed what the hook cannot read (field {at})")
        at += 1 + _FIELDS
        paths = []
        while at < len(fields) and fields[at]:
            paths.append(fields[at])
            at += 1
        if paths and not paths[0].startswith(b"\n"):
            raise UnreadablePushError("git log printed what the hook cannot read (its paths)")
        commits.append((_commit([head[0], *head[2:]], paths), _text(head[1]).split()))
    return commits


def _commit(head: list[bytes], paths: list[bytes]) -> dict[str, Any]:
    sha, author, subject, trailers = (_text(field) for field in head)
    found: dict[str, list[str]] = {}
    for trailer in trailers.split("\n"):
        key, sep, value = trailer.partition("\x1f")
        if sep and key.strip():
            found.setdefault(key.strip()[:MAX_TEXT], []).append(value.strip()[:MAX_TEXT])
    named = [_text(paths[0][1:]), *(_text(p) for p in paths[1:])] if paths else []
    return {
        "sha": sha,
        "subject": subject[:MAX_TEXT],
        "author": author[:MAX_TEXT],
        "trailers": found,
        "paths": [p for p in named if p],
    }


def _text(raw: bytes) -> str:
    """Whatever a commit's bytes are — Latin-1, broken UTF-8 — they read, and never block a push;
    NUL (which PostgreSQL cannot store) is dropped."""
    return raw.decode("utf-8", "replace").replace("\x00", "")
