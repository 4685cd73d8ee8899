"""A bare repository on the "git server" and a developer's clone of it, with git isolated from
this host's configuration (GIT_CONFIG_GLOBAL, GIT_CONFIG_NOSYSTEM, the author's env)."""

import os
import subprocess
from pathlib import Path


class GitWorkspace:
    def __init__(
        self, root: Path, *, name: str = "app", author: tuple[str, str], env: dict[str, str]
    ) -> None:
        self.bare = root / f"{name}.git"
        self.clone = root / name
        root.mkdir(parents=True, exist_ok=True)
        gitconfig = root / "gitconfig"
        gitconfig.touch()
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GIT_", "ANDON_", "SLACK_", "GL_"))
        }
        who, email = author
        self.env.update(
            GIT_CONFIG_GLOBAL=str(gitconfig),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_AUTHOR_NAME=who,
            GIT_AUTHOR_EMAIL=email,
            GIT_COMMITTER_NAME=who,
            GIT_COMMITTER_EMAIL=email,
            **env,
        )
        self.git("init", "-q", "--bare", "-b", "main", str(self.bare), cwd=root)
        self.git("init", "-q", "-b", "main", str(self.clone), cwd=root)
        self.git("remote", "add", "origin", str(self.bare))

    def git(self, *args: str, cwd: Path | None = None) -> str:
        """Run git in the clone (or ``cwd``); a failure fails the test with git's words."""
        done = subprocess.run(
            ["git", *args],
            cwd=cwd or self.clone,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"git {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done.stdout
