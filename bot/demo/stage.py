"""The demo's stage: a git server, a developer's clone, hosts and an ``andon.toml`` of its own.

Everything lives in one temporary directory, so the demo touches nothing of the machine it runs
on: git reads an empty configuration of its own, and neither the developer's git nor the hook
sees the caller's ``ANDON_*`` or ``SLACK_*`` variables — a hook that found ``ANDON_URL`` in its
environment would ask some other Andon whether the push may land.
"""

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

AUTHOR = ("Dana Kim", "dana@example.com")
ONCALL = ("lee", "maria")
GIT_TIMEOUT = 30


@dataclass(frozen=True)
class Stage:
    """Where everything is: the bare repository is the git server, ``hosts`` the production."""

    root: Path
    bare: Path
    clone: Path
    hosts: Path
    config: Path
    database: Path

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.database}"


def build(root: Path) -> Stage:
    """Lay out the stage in ``root``: repositories initialised, the configuration written."""
    stage = Stage(
        root=root,
        bare=root / "app.git",
        clone=root / "app",
        hosts=root / "hosts" / "production",
        config=root / "andon.toml",
        database=root / "andon.db",
    )
    stage.hosts.mkdir(parents=True)
    stage.config.write_text(config_text(stage), encoding="utf-8")
    (root / "gitconfig").touch()
    return stage


def config_text(stage: Stage) -> str:
    """The demo's ``andon.toml``: every stage of the line on, nothing waiting on a timer."""
    oncall = ", ".join(json.dumps(person) for person in ONCALL)
    return f"""# andon demo: a production line of its own, in a temporary directory.
[repo]
path = {json.dumps(str(stage.bare))}
branch = "main"

[ci]
stop_line_on_failure = true

# One local host: releases/<sha>/ and the current symlink in a directory, no SSH, no health check.
[environments.production]
path = {json.dumps(str(stage.hosts))}
hosts = ["local"]
auto_deploy = true

[oncall]
rotation = [{oncall}]

[digest]
when = "mon 09:00"
timezone = "UTC"
"""


class Repo:
    """Dana's clone of the git server's repository; ``git`` runs as she would run it."""

    def __init__(self, stage: Stage) -> None:
        self._stage = stage
        self._env = _git_environment(stage.root / "gitconfig")

    def create(self) -> None:
        """The empty repository on the server and a clone with ``origin`` pointing at it."""
        self.git("init", "-q", "--bare", "-b", "main", str(self._stage.bare))
        self.git("init", "-q", "-b", "main", str(self._stage.clone))
        self.git("-C", str(self._stage.clone), "remote", "add", "origin", str(self._stage.bare))

    def commit(self, message: str, files: dict[str, str]) -> str:
        """Write ``files``, commit them with ``message``; returns the new full sha."""
        for name, text in files.items():
            path = self._stage.clone / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        self.here("add", "-A")
        self.here("commit", "-q", "-m", message)
        return self.head()

    def amend(self, message: str) -> str:
        """Rewrite the last commit's message (a fix gets its ``Line-Fix`` trailer)."""
        self.here("commit", "-q", "--amend", "-m", message)
        return self.head()

    def about(self, revision: str) -> dict[str, str]:
        """What a CI sends along with a result: the commit's subject and author."""
        shown = self.here("log", "-1", "--format=%s%x00%an%x00%ae", revision).stdout.strip()
        subject, name, email = shown.split("\x00")
        return {"subject": subject, "author_name": name, "author_email": email}

    def head(self) -> str:
        return self.here("rev-parse", "HEAD").stdout.strip()

    def push(self) -> subprocess.CompletedProcess[str]:
        """``git push origin main`` as Dana types it; a refusal is an answer, not an error."""
        return self.here("push", "origin", "main", check=False)

    def here(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.git("-C", str(self._stage.clone), *args, check=check)

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["git", *args],
            env=self._env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=GIT_TIMEOUT,
            check=False,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done


def _git_environment(gitconfig: Path) -> dict[str, str]:
    """Dana's shell: no caller's git, Andon or Slack settings; she is the pusher."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GIT_", "ANDON_", "SLACK_", "GL_"))
    }
    who, email = AUTHOR
    env.update(
        GIT_CONFIG_GLOBAL=str(gitconfig),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME=who,
        GIT_AUTHOR_EMAIL=email,
        GIT_COMMITTER_NAME=who,
        GIT_COMMITTER_EMAIL=email,
        USER="dana",
        LOGNAME="dana",
        LC_ALL="C",
    )
    return env
