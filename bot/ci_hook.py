"""``andon ci install`` and ``andon ci enqueue``: the post-receive hook that feeds the local runner.

The hook runs at every push, in the git server's environment — not the operator's shell — so it
calls this Andon by absolute path and carries the installing environment's database and config.
It only queues: the push has already happened when post-receive runs, so nothing here can (or
tries to) refuse it, and a hook that cannot queue warns the pusher instead of failing.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from bot.settings import Settings

HOOK = "post-receive"
CHAINED = "post-receive.chained"
MARKER = "# andon: local CI post-receive hook"
BRANCHES = "refs/heads/"
GIT_TIMEOUT = 30


class _NotInstalledError(Exception):
    """A reason not to install, said to the operator as it is; 1 refuses, 2 is a usage error."""

    def __init__(self, message: str, *, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


# --- andon ci install ------------------------------------------------------------------------


def install_command(settings: Settings, repo: str) -> int:
    """Make pushes to ``repo`` queue their branch heads, keeping any post-receive hook it has."""
    try:
        database_url = _absolute_database_url(settings.andon_database_url)
        hooks, names = _hooks_dir(Path(repo).expanduser())
        kept = _make_room(hooks)
        hook = hooks / HOOK
        _write_executable(hook, _script(database_url, os.path.abspath(settings.andon_config)))
    except _NotInstalledError as refused:
        print(f"andon: {refused}", file=sys.stderr)
        return refused.code
    where = Path(repo).expanduser().resolve()
    print(f"Installed {hook}: every branch pushed to {where} is queued for the local CI runner.")
    chained = hooks / CHAINED
    if kept:
        print(f"The post-receive hook that was there is kept as {chained} and still runs first.")
    if chained.exists() and not os.access(chained, os.X_OK):
        print(f"Note: {chained} is not executable, so git never ran it; it still does not run.")
    for note in _config_notes(settings.andon_config, names):
        print(f"Note: {note}")
    return 0


def _absolute_database_url(url: str) -> str:
    """The hook runs in the repository, not here: a relative SQLite path would miss the database."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return url
    path = parsed.database or ""
    if path in ("", ":memory:") or path.startswith("file:"):
        raise _NotInstalledError(f"ANDON_DATABASE_URL={url} is not a file another process can open")
    return parsed.set(database=os.path.abspath(path)).render_as_string(hide_password=False)


def _hooks_dir(repo: Path) -> tuple[Path, set[Path]]:
    """Where git looks for this repository's hooks (and the paths that name the repository).

    Refuses anything but a repository's own root: a folder inside some other repository's work
    tree would otherwise get that repository's hook.
    """
    if not repo.is_dir():
        raise _NotInstalledError(f"{repo} is not a directory, so not a git repository")
    found = _git(repo, "rev-parse", "--absolute-git-dir", "--is-bare-repository")
    lines = found.stdout.split()
    if found.returncode != 0 or len(lines) != 2:
        said = found.stderr.strip() or "git rev-parse failed"
        raise _NotInstalledError(f"{repo} is not a git repository ({said})")
    git_dir, bare = Path(lines[0]), lines[1] == "true"
    where = repo.resolve()
    top = git_dir
    if not bare:
        shown = _git(repo, "rev-parse", "--show-toplevel")
        top = Path(shown.stdout.strip()) if shown.returncode == 0 else git_dir
    if where not in (git_dir.resolve(), top.resolve()):
        raise _NotInstalledError(
            f"{repo} is inside the git repository {top}; name the repository itself"
        )
    configured = _git(repo, "config", "--local", "--get", "core.hooksPath").stdout.strip()
    hooks = (top / configured).resolve() if configured else git_dir / "hooks"
    return hooks, {git_dir.resolve(), top.resolve()}


def _make_room(hooks: Path) -> bool:
    """Keep a post-receive hook that is not ours as the chained one; never overwrite it silently."""
    hooks.mkdir(parents=True, exist_ok=True)
    hook, chained = hooks / HOOK, hooks / CHAINED
    if not (hook.exists() or hook.is_symlink()) or _ours(hook):
        return False
    if chained.exists() or chained.is_symlink():
        raise _NotInstalledError(
            f"{hook} is not Andon's and {chained} already exists: keeping both is not possible. "
            f"Merge them into {chained}, remove {hook}, then install again.",
            code=1,
        )
    os.rename(hook, chained)
    return True


def _ours(hook: Path) -> bool:
    try:
        with hook.open(encoding="utf-8", errors="replace") as text:
            return any(MARKER in line for line, _ in zip(text, range(5), strict=False))
    except OSError:
        return False


def _script(database_url: str, config: str) -> str:
    andon, pythonpath = _andon_command()
    path_line = (
        f"PYTHONPATH={shlex.quote(pythonpath)}${{PYTHONPATH:+:$PYTHONPATH}}; export PYTHONPATH\n"
        if pythonpath
        else ""
    )
    return f"""#!/bin/sh
{MARKER} (written by `andon ci install`; install again to refresh it)
# Queues each pushed branch head for the local CI runner of `andon serve`. The settings were
# recorded at install time; variables already set in the hook's environment win over them.
[ -n "${{ANDON_DATABASE_URL:-}}" ] || ANDON_DATABASE_URL={shlex.quote(database_url)}
[ -n "${{ANDON_CONFIG:-}}" ] || ANDON_CONFIG={shlex.quote(config)}
export ANDON_DATABASE_URL ANDON_CONFIG
{path_line}
input=$(cat)
status=0
chained="$(dirname "$0")/{CHAINED}"
if [ -x "$chained" ]; then
    printf '%s\\n' "$input" | "$chained" "$@" || status=$?
fi
printf '%s\\n' "$input" | {andon} ci enqueue
exit $status
"""


def _andon_command() -> tuple[str, str | None]:
    """This Andon by absolute path: its console script, else its interpreter with the package."""
    python = os.path.abspath(sys.executable)  # not resolved: a venv's python is a symlink
    script = Path(python).parent / "andon"
    if script.is_file() and os.access(script, os.X_OK):
        return shlex.quote(str(script)), None
    root = str(Path(__file__).resolve().parent.parent)
    return f"{shlex.quote(python)} -m bot.cli", root


def _write_executable(hook: Path, text: str) -> None:
    """Written whole and renamed into place, executable: git silently skips a hook that is not."""
    partial = hook.with_name(f".{hook.name}.andon-{os.getpid()}")
    partial.write_text(text, encoding="utf-8")
    partial.chmod(0o755)
    os.replace(partial, hook)


def _config_notes(config_path: str, repo: set[Path]) -> list[str]:
    from core.config import ConfigError, load

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
    from core.config import ConfigError, load

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


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=GIT_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired) as broken:
        raise _NotInstalledError(f"git could not be run in {repo}: {broken}") from broken
