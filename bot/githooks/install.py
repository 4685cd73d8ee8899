"""Installing Andon's git hooks, the one way both of them are installed.

A hook runs in the git server's environment — not the operator's shell — so it calls this Andon
by absolute path and carries the installing environment's settings, which variables set where
the hook runs override. A hook that was already there is kept and chained, never overwritten
silently; the hook is written whole and renamed into place, executable, because git silently
skips a hook that is not.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT = 30


class NotInstalledError(Exception):
    """A reason not to install, said to the operator as it is; 1 refuses, 2 is a usage error."""

    def __init__(self, message: str, *, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class HookKind:
    """Which of git's hooks, and the line by which Andon knows its own."""

    name: str  # "pre-receive", "post-receive"
    marker: str  # e.g. "# andon: local CI post-receive hook"

    @property
    def chained(self) -> str:
        return f"{self.name}.chained"


@dataclass(frozen=True)
class Installed:
    hook: Path
    chained: Path
    kept: bool  # a hook that was there became the chained one just now
    repo: Path
    names: set[Path]  # the paths that name the repository (git dir, work tree)


def install(repo: str, kind: HookKind, *, script: str) -> Installed:
    """Write ``script`` as ``repo``'s ``kind`` hook, keeping what was there as the chained one."""
    hooks, names = hooks_dir(Path(repo).expanduser())
    kept = _make_room(hooks, kind)
    hook = hooks / kind.name
    _write_executable(hook, script)
    return Installed(hook, hooks / kind.chained, kept, Path(repo).expanduser().resolve(), names)


def notes(installed: Installed, kind: HookKind, *, still: str) -> list[str]:
    """What the operator should know about the hook that was already there."""
    said = []
    if installed.kept:
        said.append(
            f"The {kind.name} hook that was there is kept as {installed.chained} and {still}."
        )
    chained = installed.chained
    if chained.exists() and not os.access(chained, os.X_OK):
        said.append(
            f"Note: {chained} is not executable, so git never ran it; it still does not run."
        )
    return said


def script(
    kind: HookKind, *, written_by: str, purpose: str, recorded: dict[str, str], body: str
) -> str:
    """A POSIX shell hook: recorded settings, this Andon's command, ``$chained``.

    ``body`` is the hook's own part; ``{andon}`` in it becomes the command that runs Andon. The
    body reads git's input itself (``input=$(cat)``) when it needs it twice: a hook that only
    hands it on spares the push a ``cat`` and a pipe. ``$chained`` is found without ``dirname``
    for the same reason: every push waits for the hook.
    """
    andon, pythonpath = andon_command()
    defaults = "".join(
        f'[ -n "${{{name}:-}}" ] || {name}={shlex.quote(value)}\n'
        for name, value in recorded.items()
    )
    exports = f"export {' '.join(recorded)}\n" if recorded else ""
    path_line = (
        f"PYTHONPATH={shlex.quote(pythonpath)}${{PYTHONPATH:+:$PYTHONPATH}}; export PYTHONPATH\n"
        if pythonpath
        else ""
    )
    return f"""#!/bin/sh
{kind.marker} (written by `{written_by}`; install again to refresh it)
# {purpose} The settings were
# recorded at install time; variables already set in the hook's environment win over them.
{defaults}{exports}{path_line}
case "$0" in */*) chained="${{0%/*}}/{kind.chained}" ;; *) chained="./{kind.chained}" ;; esac
{body.replace("{andon}", andon)}"""


def absolute_database_url(url: str) -> str:
    """The hook runs in the repository, not here: a relative SQLite path would miss the database."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return url
    path = parsed.database or ""
    if path in ("", ":memory:") or path.startswith("file:"):
        raise NotInstalledError(f"ANDON_DATABASE_URL={url} is not a file another process can open")
    return parsed.set(database=os.path.abspath(path)).render_as_string(hide_password=False)


def hooks_dir(repo: Path) -> tuple[Path, set[Path]]:
    """Where git looks for this repository's hooks (and the paths that name the repository).

    Refuses anything but a repository's own root: a folder inside some other repository's work
    tree would otherwise get that repository's hook.
    """
    if not repo.is_dir():
        raise NotInstalledError(f"{repo} is not a directory, so not a git repository")
    found = git(repo, "rev-parse", "--absolute-git-dir", "--is-bare-repository")
    lines = found.stdout.split()
    if found.returncode != 0 or len(lines) != 2:
        said = found.stderr.strip() or "git rev-parse failed"
        raise NotInstalledError(f"{repo} is not a git repository ({said})")
    git_dir, bare = Path(lines[0]), lines[1] == "true"
    where = repo.resolve()
    top = git_dir
    if not bare:
        shown = git(repo, "rev-parse", "--show-toplevel")
        top = Path(shown.stdout.strip()) if shown.returncode == 0 else git_dir
    if where not in (git_dir.resolve(), top.resolve()):
        raise NotInstalledError(
            f"{repo} is inside the git repository {top}; name the repository itself"
        )
    configured = git(repo, "config", "--local", "--get", "core.hooksPath").stdout.strip()
    hooks = (top / configured).resolve() if configured else git_dir / "hooks"
    return hooks, {git_dir.resolve(), top.resolve()}


def _make_room(hooks: Path, kind: HookKind) -> bool:
    """Keep a hook that is not ours as the chained one; never overwrite it silently."""
    hooks.mkdir(parents=True, exist_ok=True)
    hook, chained = hooks / kind.name, hooks / kind.chained
    if not (hook.exists() or hook.is_symlink()) or _ours(hook, kind):
        return False
    if chained.exists() or chained.is_symlink():
        raise NotInstalledError(
            f"{hook} is not Andon's and {chained} already exists: keeping both is not possible. "
            f"Merge them into {chained}, remove {hook}, then install again.",
            code=1,
        )
    os.rename(hook, chained)
    return True


def _ours(hook: Path, kind: HookKind) -> bool:
    try:
        with hook.open(encoding="utf-8", errors="replace") as text:
            return any(kind.marker in line for line, _ in zip(text, range(5), strict=False))
    except OSError:
        return False


def andon_command() -> tuple[str, str | None]:
    """This Andon by absolute path: its console script, else its interpreter with the package."""
    python = os.path.abspath(sys.executable)  # not resolved: a venv's python is a symlink
    andon = Path(python).parent / "andon"
    if andon.is_file() and os.access(andon, os.X_OK):
        return shlex.quote(str(andon)), None
    return f"{shlex.quote(python)} -m bot.cli", package_root()


def module_command(module: str) -> str:
    """This Andon's interpreter, by absolute path, running ``module``'s ``main()`` as quickly as
    Python starts: without ``site`` (``-S``: the virtualenv's ``.pth`` files and an editable
    install's finder cost as long as the rest of the start; ``bot.githooks.site_packages`` runs
    it when a path needs an installed package) and without the current directory on
    ``sys.path`` (``-P``: a hook runs in the repository). The package's root goes last on
    ``sys.path``, so nothing there can stand in for the standard library."""
    python = os.path.abspath(sys.executable)  # not resolved: a venv's python is a symlink
    root = json.dumps(package_root())  # a Python string literal in double quotes
    code = f"import sys; sys.path.append({root}); from {module} import main; sys.exit(main())"
    return f"{shlex.quote(python)} -S -P -c {shlex.quote(code)}"


def package_root() -> str:
    """The directory that holds Andon's packages (``bot``, ``core``, ``storage``): the checkout
    of an editable install, else the site-packages it was installed into."""
    return str(Path(__file__).resolve().parent.parent.parent)


def _write_executable(hook: Path, text: str) -> None:
    """Written whole and renamed into place, executable: git silently skips a hook that is not."""
    partial = hook.with_name(f".{hook.name}.andon-{os.getpid()}")
    partial.write_text(text, encoding="utf-8")
    partial.chmod(0o755)
    os.replace(partial, hook)


def git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """git in ``repo`` as the operator runs it, whatever GIT_* variables this process has."""
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
        raise NotInstalledError(f"git could not be run in {repo}: {broken}") from broken
