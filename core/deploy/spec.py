"""The deploy steps the application's team owns: ``andon.deploy.toml`` in its repository.

Read at the revision being deployed (as Shipit reads its spec from the repo), so a change to
how the app builds or migrates ships in the same commit as the code that needs it. Its keys
override the server's for the environment being deployed:

    build = "make dist"
    before_activate = ["./bin/migrate"]
    [environments.production]
    after_activate = ["sudo systemctl reload app"]
    health_command = "curl -fsS localhost:8080/healthz"

Its steps are commands from the repository, run on Andon's machine (the build) and on the hosts:
only where the server's ``andon.toml`` allows it (``[build] from_repo = true``). Otherwise a
revision whose spec asks for any of them is refused — never deployed without the steps it needs.
"""

import tomllib
from dataclasses import dataclass, replace
from typing import Any

from core.config.file import AndonConfig
from core.deploy.source import Source

FILE_NAME = "andon.deploy.toml"
_KEYS_IN_ORDER = ("build", "before_activate", "after_activate", "health_command")
_KEYS = set(_KEYS_IN_ORDER)


class SpecError(Exception):
    """The repository's deploy spec cannot be used; the message names the key."""


class SpecRefusedError(Exception):
    """The spec asks to run commands and andon.toml does not let a repository's commands run."""


@dataclass(frozen=True)
class Steps:
    build: str | None
    before_activate: tuple[str, ...]
    after_activate: tuple[str, ...]
    health_command: str | None
    build_from_repo: bool = False  # the build is the repository's, not the server's own


def server_steps(config: AndonConfig, environment: str) -> Steps:
    env = config.environments[environment]
    return Steps(
        build=config.build.command if config.build else None,
        before_activate=tuple(env.before_activate),
        after_activate=tuple(env.after_activate),
        health_command=env.health_command,
    )


def steps_for(config: AndonConfig, environment: str, source: Source, revision: str) -> Steps:
    """The server's steps, overridden by the repository's spec at this revision."""
    steps = server_steps(config, environment)
    text = source.read(revision, FILE_NAME)
    if text is None:
        return steps
    try:
        spec = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{FILE_NAME} at {revision[:7]}: {error}") from None
    top = _table(spec, "")
    environments = spec.get("environments", {})
    if not isinstance(environments, dict):
        raise SpecError(f"{FILE_NAME} at {revision[:7]}: environments must be a table")
    chosen = _table(environments.get(environment, {}), f"environments.{environment}.")
    steps = _apply(_apply(steps, top, where=""), chosen, where=environment)
    asked = sorted({*top, *chosen}, key=_KEYS_IN_ORDER.index)
    if asked and not (config.build is not None and config.build.from_repo):
        raise SpecRefusedError(
            f"{FILE_NAME} at {revision[:7]} asks to run commands of its own "
            f"({', '.join(asked)}), and andon.toml runs a repository's commands only with "
            "`[build] from_repo = true` — nothing was deployed"
        )
    return replace(steps, build_from_repo="build" in asked)


def _table(table: Any, prefix: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise SpecError(f"{FILE_NAME}: {prefix.rstrip('.')} must be a table")
    unknown = sorted(set(table) - _KEYS - {"environments"})
    if unknown:
        raise SpecError(f"{FILE_NAME}: {prefix}{unknown[0]} is not a deploy step")
    return {key: value for key, value in table.items() if key in _KEYS}


def _apply(steps: Steps, table: dict[str, Any], *, where: str) -> Steps:
    changes: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{FILE_NAME}: {'environments.' + where + '.' if where else ''}{key}"
        if key in ("build", "health_command"):
            if not isinstance(value, str) or not value.strip():
                raise SpecError(f"{name} must be a non-empty string")
            changes[key] = value
        else:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise SpecError(f"{name} must be a list of commands")
            changes[key] = tuple(value)
    return replace(steps, **changes)
