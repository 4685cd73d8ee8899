"""``[build]``: the server's own build command, and what code from the repository may run.

The server's ``command`` is the operator's, and trusted. A repository's ``andon.deploy.toml`` may
ask for a build and host commands of its own; those run only with ``from_repo = true``. Code
Andon did not write — such a build, and the built-in CI runner's command — never runs as root:
when Andon does, it runs as ``user``.
"""

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from core.config.values import STRICT, Duration

_USER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")


def _user(value: str) -> str:
    if not _USER.fullmatch(value):
        raise ValueError(f"{value[:40]!r} is not a user name; write one like nobody or andon-build")
    if value == "root":
        raise ValueError("root would give the build everything Andon has; name a user with less")
    return value


class BuildConfig(BaseModel):
    """The command that turns a checkout into what is copied to the hosts, and who builds."""

    model_config = STRICT
    command: str | None = Field(default=None, min_length=1)  # trusted: the server's own
    from_repo: bool = False  # andon.deploy.toml's build and host commands run only when true
    user: Annotated[str, AfterValidator(_user)] | None = None  # as root, builds run as this user
    timeout: Duration = timedelta(minutes=30)


def runs_repository_code(build: BuildConfig | None, *, local_ci: bool) -> bool:
    """Whether this configuration runs code from the repository on Andon's machine."""
    return local_ci or (build is not None and build.from_repo)


def root_problems(build: BuildConfig | None, *, local_ci: bool, as_root: bool) -> list[str]:
    """What ``andon config check`` says about who builds, given whether Andon runs as root."""
    if not as_root or not runs_repository_code(build, local_ci=local_ci):
        return []
    if build is not None and build.user is not None:
        return []
    which = " and ".join(
        name
        for name, on in (
            ("the repository's build ([build] from_repo = true)", build and build.from_repo),
            ("the built-in CI runner ([ci.local])", local_ci),
        )
        if on
    )
    return [
        f"build.user: Andon runs as root and would run {which} with no [build] user to run "
        'it as — such code never runs as root, so it is refused; set [build] user = "nobody" '
        "(or a user of its own)"
    ]
