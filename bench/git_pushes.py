"""A developer's pushes to a bare repository on a "git server", timed: ``bench/gate.py`` pushes
to one such repository per pre-receive hook it compares. git runs isolated from this host's
configuration, as in tests/gate_line.py.
"""

import os
import resource
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT = 60


def git_env(root: Path) -> dict[str, str]:
    """A developer's git, isolated from this host's configuration (as tests/gate_line.py does)."""
    gitconfig = root / "gitconfig"
    gitconfig.touch()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "ANDON_", "SLACK_", "GL_"))
    }
    env.update(
        GIT_CONFIG_GLOBAL=str(gitconfig),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Dana Kim",
        GIT_AUTHOR_EMAIL="dana@example.com",
        GIT_COMMITTER_NAME="Dana Kim",
        GIT_COMMITTER_EMAIL="dana@example.com",
        USER="dana",
        LOGNAME="dana",
        # Bytecode as a server that has run the hook once has it: cached (here in the temporary
        # directory, so nothing is written into the checkout), not compiled at every start.
        PYTHONPYCACHEPREFIX=str(root / "pycache"),
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def uncached_env(env: dict[str, str]) -> dict[str, str]:
    """No bytecode written or read for the checkout's own modules (site-packages keep the .pyc
    pip wrote): a process started with ``PYTHONDONTWRITEBYTECODE=1`` from a checkout that has
    no ``__pycache__``."""
    return {
        **{k: v for k, v in env.items() if k != "PYTHONPYCACHEPREFIX"},
        "PYTHONDONTWRITEBYTECODE": "1",
    }


@dataclass
class Repo:
    """A bare repository on the "git server" and a developer's clone of it."""

    name: str
    bare: Path
    clone: Path
    env: dict[str, str]
    pushes: int = 0

    @classmethod
    def create(cls, name: str, root: Path, env: dict[str, str]) -> "Repo":
        root.mkdir(parents=True, exist_ok=True)
        repo = cls(name, root / f"{name}.git", root / name, env)
        repo.git("init", "-q", "--bare", "-b", "main", str(repo.bare), cwd=root)
        repo.git("init", "-q", "-b", "main", str(repo.clone), cwd=root)
        repo.git("remote", "add", "origin", str(repo.bare))
        return repo

    def git(self, *args: str, cwd: Path | None = None) -> str:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd or self.clone,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
        )
        if done.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}:\n{done.stdout}{done.stderr}")
        return done.stdout

    def commit(self) -> str:
        """One new commit changing one file: what a developer pushes to main."""
        self.pushes += 1
        (self.clone / "app.py").write_text(f"VERSION = {self.pushes}\n")
        self.git("add", "app.py")
        self.git("commit", "-q", "-m", f"Change {self.pushes}")
        return self.git("rev-parse", "HEAD").strip()

    def head(self) -> str:
        found = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", "refs/heads/main"],
            cwd=self.bare,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
        )
        return found.stdout.strip()


@dataclass
class Pushed:
    seconds: float
    cpu_s: float  # of git push and every process it (and its hook) waited for
    landed: bool
    said: str  # what the pusher read (git's stderr/stdout)


def push(repo: Repo, **env: str) -> Pushed:
    """Commit (not timed), then ``git push origin main`` timed; did the commit land?"""
    revision = repo.commit()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        ["git", "push", "-q", "origin", "main"],
        cwd=repo.clone,
        env={**repo.env, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT,
    )
    took = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    landed = done.returncode == 0 and repo.head() == revision
    return Pushed(took, cpu, landed, (done.stdout + done.stderr).strip())
