"""``andon ci install`` and ``andon ci enqueue``: the post-receive hook that feeds the local runner.

The hook runs at every push, in the git server's environment — not the operator's shell — so it
calls this Andon by absolute path and carries the installing environment's database and config.
It only queues: the push has already happened when post-receive runs, so nothing here can (or
tries to) refuse it, and a hook that cannot queue warns the pusher instead of failing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.githooks import install as git_hooks
from bot.githooks.install import HookKind, NotInstalledError

if TYPE_CHECKING:
    from bot.settings.environment import Settings

POST_RECEIVE = HookKind("post-receive", "# andon: local CI post-receive hook")
BRANCHES = "refs/heads/"

_BODY = """input=$(cat)
status=0
if [ -x "$chained" ]; then
    printf '%s\\n' "$input" | "$chained" "$@" || status=$?
fi
printf '%s\\n' "$input" | {andon} ci enqueue
exit $status
"""


# --- andon ci install ------------------------------------------------------------------------


def install_command(settings: Settings, repo: str) -> int:
    """Make pushes to ``repo`` queue their branch heads, keeping any post-receive hook it has."""
    try:
        recorded = {
            "ANDON_DATABASE_URL": git_hooks.absolute_database_url(settings.andon_database_url),
            "ANDON_CONFIG": os.path.abspath(settings.andon_config),
        }
        script = git_hooks.script(
            POST_RECEIVE,
            written_by="andon ci install",
            purpose="Queues each pushed branch head for the local CI runner of `andon serve`.",
            recorded=recorded,
            body=_BODY,
        )
        installed = git_hooks.install(repo, POST_RECEIVE, script=script)
    except NotInstalledError as refused:
        print(f"andon: {refused}", file=sys.stderr)
        return refused.code
    print(
        f"Installed {installed.hook}: every branch pushed to {installed.repo} is queued for the "
        "local CI runner."
    )
    for note in git_hooks.notes(installed, POST_RECEIVE, still="still runs first"):
        print(note)
    for note in _config_notes(settings.andon_config, installed.names):
        print(f"Note: {note}")
    return 0


def _config_notes(config_path: str, repo: set[Path]) -> list[str]:
    from core.config.file import ConfigError, load

    try:
        config = load(config_path)
    except ConfigError:
        return [f"{config_path} has problems: see `andon config check`."]
    notes = []
    if config.ci is None or config.ci.local is None:
        notes.append(
            f"{config_path} has no [ci.local] command: pushes are not queued until it has."
        )
    if config.repo is None:
        notes.append(
            f"{config_path} has no [repo] path: the runner needs it to check revisions out."
        )
    else:
        configured = Path(config.repo.path).expanduser().resolve()
        if configured not in repo:
            notes.append(
                f"[repo] path is {configured}: the runner checks revisions out of it, not here."
            )
    return notes


# --- andon ci enqueue (the hook's entry point: keep its imports light) ---------------------------


def enqueue_command(settings: Settings, stdin: TextIO) -> int:
    """Queue what was pushed and tell the pusher; exit 0 even on failure — the push is done."""
    heads = _branch_heads(stdin)
    if not heads:
        return 0
    off = _local_ci_off(settings.andon_config)
    if off:
        print(f"andon: {off}: nothing queued.", flush=True)
        return 0
    try:
        queued = _enqueue(settings.andon_database_url, heads)
    except Exception as broken:
        reason = (str(broken).strip().splitlines() or [type(broken).__name__])[0][:300]
        for revision, branch in heads:
            print(
                f"andon: warning: could not queue {revision[:7]} ({branch}) for the local CI "
                f"runner: {reason}",
                file=sys.stderr,
                flush=True,
            )
        return 0
    for (revision, branch), new in zip(heads, queued, strict=True):
        if new:
            print(f"andon: queued {revision[:7]} ({branch}) for the local CI runner", flush=True)
        else:
            print(
                f"andon: {revision[:7]} ({branch}) is already queued for the local CI runner",
                flush=True,
            )
    return 0


def _branch_heads(stdin: TextIO) -> list[tuple[str, str]]:
    """``<old> <new> <ref>`` lines: the new head of every branch pushed, deletions left out."""
    from core.ci.report import FULL_SHA

    heads = []
    for line in stdin:
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith(BRANCHES):
            continue
        _old, new, ref = parts
        if set(new) == {"0"}:
            continue  # a deleted branch has nothing to test
        branch = ref.removeprefix(BRANCHES)
        if not FULL_SHA.fullmatch(new):
            print(
                f"andon: warning: {new[:64]!r} ({branch}) is not a sha-1 id; not queued",
                file=sys.stderr,
            )
            continue
        heads.append((new, branch))
    return heads


def _local_ci_off(config_path: str) -> str | None:
    """Why nothing should be queued, if so: a queue no runner drains only grows."""
    from core.config.file import ConfigError, load

    try:
        config = load(config_path)
    except ConfigError:
        return None  # queue anyway: `andon serve` refuses to start until the file is fixed
    if config.ci is None or config.ci.local is None:
        return f"{config_path} has no [ci.local] command"
    return None


def _enqueue(database_url: str, heads: list[tuple[str, str]]) -> list[bool]:
    from core.ci import queue
    from core.clock import SystemClock
    from storage.database import Database

    database = Database(database_url)
    clock = SystemClock()
    try:
        with database.writing() as session:
            return [
                queue.enqueue(session, clock=clock, revision=revision, branch=branch)
                for revision, branch in heads
            ]
    finally:
        database.dispose()
