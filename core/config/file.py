"""``andon.toml``: every section optional, every typo reported with its key path."""

import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    ValidationError,
    model_validator,
)

from core.config.alerts import AlertRoute, AlertsConfig, Check, OncallConfig
from core.config.build import BuildConfig
from core.config.hosts import Environment, Host
from core.config.http import HttpConfig
from core.config.problems import describe
from core.config.values import (
    MONDAY_9AM,
    STRICT,
    Branch,
    Channel,
    Duration,
    GitHubRepo,
    GitLabProject,
    HttpUrl,
    Name,
    ProtectedRef,
    TimeZoneName,
    TrailerKey,
    UserId,
    Weekly,
    per_host,
)

__all__ = [
    "AccessConfig",
    "AlertRoute",
    "AlertsConfig",
    "AndonConfig",
    "BuildConfig",
    "Check",
    "CiConfig",
    "ConfigError",
    "DigestConfig",
    "Environment",
    "ForgesConfig",
    "GateCheck",
    "GateConfig",
    "Host",
    "HttpConfig",
    "LineConfig",
    "LocalCiConfig",
    "OncallConfig",
    "RepoConfig",
    "SlackConfig",
    "Weekly",
    "load",
    "problems",
]


class SlackConfig(BaseModel):
    """Where the line is announced; without a channel the terminal is the channel."""

    model_config = STRICT
    channel: Channel | None = None


class RepoConfig(BaseModel):
    """The git repository deploys are cut from and the branch that is the line."""

    model_config = STRICT
    path: str = Field(min_length=1)
    branch: Branch = "main"


class LocalCiConfig(BaseModel):
    """Andon's own small runner, for teams without a CI service."""

    model_config = STRICT
    command: str = Field(min_length=1)
    timeout: Duration = timedelta(minutes=30)
    junit_path: str | None = Field(default=None, min_length=1)


class CiConfig(BaseModel):
    """How build results move the line."""

    model_config = STRICT
    stop_line_on_failure: bool = True
    infra_failures_stop_line: bool = False  # a CI's own failure (Buildbot EXCEPTION) is not red
    budget: Duration | None = None  # runs longer than this are flagged
    required: list[str] = Field(default_factory=list)  # empty: any pipeline that reported
    junit_url: str | None = None  # where a red run's JUnit report is fetched from
    local: LocalCiConfig | None = None


def _regex(value: str) -> str:
    """A broken pattern would refuse every push; catch it here instead."""
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"{value!r} is not a regular expression: {error}") from None
    return value


class GateCheck(BaseModel):
    """One rule every pushed commit on a protected ref must pass, running line or not."""

    model_config = STRICT
    name: str | None = None
    subject_regex: Annotated[str, AfterValidator(_regex)] | None = None
    max_subject_length: int | None = Field(default=None, ge=1)
    forbidden_paths: list[str] = Field(default_factory=list)  # globs no commit may touch
    fix_needs_test_paths: list[str] = Field(default_factory=list)  # a Line-Fix must touch one


class GateConfig(BaseModel):
    """The commit check the git pre-receive hook asks for."""

    model_config = STRICT
    protected: list[ProtectedRef] | None = None  # None: the line's branch
    override_trailer: TrailerKey = "Line-Fix"
    fail_open: bool = False  # let pushes through when Andon cannot be asked
    checks: list[GateCheck] = Field(default_factory=list)


class AccessConfig(BaseModel):
    """Who may deploy (empty: everyone) and who may force (empty: nobody)."""

    model_config = STRICT
    deployers: list[UserId] = Field(default_factory=list)
    admins: list[UserId] = Field(default_factory=list)


class LineConfig(BaseModel):
    """The line itself: how often a stopped line reminds the channel."""

    model_config = STRICT
    nag: Duration = timedelta(hours=2)


class DigestConfig(BaseModel):
    """The weekly summary of the investments the five whys produced."""

    model_config = STRICT
    when: Weekly = MONDAY_9AM
    timezone: TimeZoneName = "UTC"


class ForgesConfig(BaseModel):
    """Where the forges' APIs answer (the hosted ones, or GitHub Enterprise / a GitLab server),
    and which repository there is the line's: its deploys are recorded as that one's deployments."""

    model_config = STRICT
    github_api: HttpUrl = "https://api.github.com"
    gitlab_api: HttpUrl = "https://gitlab.com/api/v4"
    github: GitHubRepo | None = None  # "owner/name"
    gitlab: GitLabProject | None = None  # "group/project", or the project's numeric id


def _email(value: str) -> str:
    if "@" not in value or any(c.isspace() for c in value):
        raise ValueError(f"{value!r} is not an e-mail address as git records it")
    return value


class AndonConfig(BaseModel):
    """The whole of andon.toml; ``AndonConfig()`` is what runs when there is no file."""

    model_config = STRICT
    slack: SlackConfig = SlackConfig()
    repo: RepoConfig | None = None
    ci: CiConfig | None = None
    gate: GateConfig = GateConfig()
    access: AccessConfig = AccessConfig()
    line: LineConfig = LineConfig()
    people: dict[Annotated[str, AfterValidator(_email)], UserId] = Field(default_factory=dict)
    build: BuildConfig | None = None
    environments: dict[Name, Environment] = Field(default_factory=dict)
    oncall: OncallConfig | None = None
    alerts: AlertsConfig | None = None
    checks: list[Check] = Field(default_factory=list)
    digest: DigestConfig | None = None
    forges: ForgesConfig = ForgesConfig()
    http: HttpConfig = HttpConfig()

    @property
    def team_timezone(self) -> str:
        """The team's time zone — weeks, mornings, meetings: the digest's, else the rotation's."""
        if self.digest is not None:
            return self.digest.timezone
        return self.oncall.timezone if self.oncall is not None else "UTC"

    @model_validator(mode="after")
    def _cross_references(self) -> "AndonConfig":
        found = [*self._order_problems(), *self._check_problems(), *self._runner_problems()]
        if found:
            raise ValueError("\n".join(found))
        return self

    def _order_problems(self) -> list[str]:
        found = []
        for name, environment in self.environments.items():
            seen = [name]
            step = environment.after
            while step is not None and step not in seen and step in self.environments:
                seen.append(step)
                step = self.environments[step].after
            where = f"environments.{name}.after"
            if environment.after is not None and environment.after not in self.environments:
                found.append(f"{where}: {environment.after!r} is not a defined environment")
            elif step == name:
                found.append(f"{where}: {' → '.join([*seen, name])} goes round in a circle")
        return found

    def _runner_problems(self) -> list[str]:
        """The built-in runner tests the line's repository; without one it would never run."""
        if self.ci is not None and self.ci.local is not None and self.repo is None:
            return ["ci.local: needs [repo] path, the repository whose pushes it tests"]
        return []

    def _check_problems(self) -> list[str]:
        found, names = [], set()
        for index, check in enumerate(self.checks):
            if check.name in names:
                found.append(f"checks[{index}].name: {check.name!r} is used twice")
            if check.environment is not None and check.environment not in self.environments:
                found.append(
                    f"checks[{index}].environment: {check.environment!r} "
                    "is not a defined environment"
                )
            watched = any(check.name in env.watch for env in self.environments.values())
            if per_host(check.url) and not watched:
                found.append(
                    f"checks[{index}].url: {{host}} is filled in with the hosts of an "
                    f"environment that watches {check.name!r}, and none does"
                )
            names.add(check.name)
        return found + self._watch_problems(names)

    def _watch_problems(self, names: set[str]) -> list[str]:
        """An environment watches checks by name: a typo would deploy unwatched."""
        known = ", ".join(check.name for check in self.checks) or "none"
        found = []
        for environment_name, environment in self.environments.items():
            for index, name in enumerate(environment.watch):
                if name not in names:
                    found.append(
                        f"environments.{environment_name}.watch[{index}]: {name!r} is not a "
                        f"defined check (known: {known})"
                    )
        return found

    @property
    def line_branch(self) -> str:
        """The branch whose commits are the production line."""
        return self.repo.branch if self.repo else "main"

    @property
    def protected_refs(self) -> list[str]:
        """The refs the gate guards: as configured, else the line's branch."""
        if self.gate.protected is not None:
            return list(self.gate.protected)
        return [f"refs/heads/{self.line_branch}"]


class ConfigError(Exception):
    """andon.toml cannot be used; ``problems`` holds one line per mistake, each with its key."""

    def __init__(self, problems: list[str], *, path: str | Path | None = None) -> None:
        self.problems = problems
        self.path = Path(path) if path is not None else None
        where = str(self.path) if self.path else "the configuration"
        super().__init__(f"{where} has problems:\n" + "\n".join(f"  {p}" for p in problems))


def _read(path: Path) -> tuple[AndonConfig | None, list[str]]:
    """Parse and validate; a missing file is the default line, not a mistake."""
    if not path.exists():
        return AndonConfig(), []
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        return None, [_syntax_problem(error)]
    except UnicodeDecodeError:
        return None, [f"{path}: not UTF-8 text, which TOML requires"]
    except OSError as error:
        return None, [f"{path}: cannot be read ({error.strerror or error})"]
    environments = raw.get("environments")
    context = {"environments": set(environments) if isinstance(environments, dict) else set()}
    try:
        return AndonConfig.model_validate(raw, context=context), []
    except ValidationError as error:
        return None, describe(error, AndonConfig)


def _syntax_problem(error: tomllib.TOMLDecodeError) -> str:
    """tomllib says ``… (at line 3, column 9)``; lead with the line, like the other problems."""
    message = str(error)
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if found is None:
        return f"TOML syntax: {message}"
    text = message[: found.start()]
    return f"line {found[1]}, column {found[2]}: {text[:1].lower()}{text[1:]} (TOML syntax)"


def load(path: str | Path) -> AndonConfig:
    """The configuration to run with; refuses to guess when the file has mistakes."""
    config, found = _read(Path(path))
    if config is None:
        raise ConfigError(found, path=path)
    return config


def problems(path: str | Path) -> list[str]:
    """What ``andon config check`` prints: every mistake at once, each led by its key path."""
    return _read(Path(path))[1]
