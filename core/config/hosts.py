"""Where releases go: ``[environments.<name>]`` and the hosts in it."""

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from core.config.values import STRICT, Duration, HttpUrl, Name

LOCAL = "local"
_HOST = re.compile(
    r"(?:(?P<user>[A-Za-z0-9._-]+)@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
    r"(?::(?P<port>\d{1,5}))?"
)
_HOST_HINT = "write user@host:port, an alias of the ssh_config, or local"
_NAME = re.compile(r"\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_USER = re.compile(r"[A-Za-z0-9._-]+")
# A release root reaches sftp, tar and the shell on hosts: plain characters only. A relative
# path (to the SSH user's home, or Andon's directory for local) is allowed, as it always was.
_PATH = re.compile(r"[\w./@%+=,: ][\w./@%+=,:~ -]*")


def _release_path(path: str | None) -> str | None:
    if path is None:
        return None
    if not _PATH.fullmatch(path):
        raise ValueError(
            f"{path[:80]!r} is not a release path; write a path of letters, digits, spaces and "
            ". _ - / @ % + = , : ~ (no shell or control characters; a leading ~ is not expanded "
            "over SFTP, so write the home directory out)"
        )
    if ".." in path.split("/"):
        raise ValueError(f"{path[:80]!r} is not a release path; it may not climb with '..'")
    return path


ReleasePath = Annotated[str, Field(min_length=1), AfterValidator(_release_path)]


def _parse_host(text: str) -> dict[str, Any]:
    """``deploy@web2:2222`` → its parts; port defaults to 22 later."""
    if text.strip() == LOCAL:
        return {"host": LOCAL}
    match = _HOST.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a host; {_HOST_HINT}")
    parts: dict[str, Any] = {"host": match["host"]}
    if match["user"]:
        parts["user"] = match["user"]
    if match["port"]:
        parts["port"] = int(match["port"])
    return parts


class Host(BaseModel):
    """One machine a release is copied to, identified by ``user@host:port``."""

    model_config = STRICT

    host: str = Field(min_length=1)
    user: str | None = None
    port: int = Field(default=22, ge=1, le=65535)
    path: ReleasePath | None = None  # overrides the environment's path
    health_url: HttpUrl | None = None  # overrides the environment's health_url

    @field_validator("host")
    @classmethod
    def _host_name(cls, host: str) -> str:
        if host != LOCAL and not _NAME.fullmatch(host):
            raise ValueError(f"{host[:80]!r} is not a host name; {_HOST_HINT}")
        return host

    @field_validator("user")
    @classmethod
    def _user_name(cls, user: str | None) -> str | None:
        if user is not None and not _USER.fullmatch(user):
            raise ValueError(f"{user[:80]!r} is not a user name; {_HOST_HINT}")
        return user

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _parse_host(value)
        host = value.get("host") if isinstance(value, dict) else None
        if isinstance(host, str) and ("@" in host or ":" in host.strip("[]")):
            return {**_parse_host(host), **{k: v for k, v in value.items() if k != "host"}}
        return value

    @property
    def is_local(self) -> bool:
        """``local`` deploys into a directory on the bot's own machine, without SSH."""
        return self.host == LOCAL

    @property
    def port_given(self) -> bool:
        """Whether andon.toml names the port: then it wins over the ssh_config's ``Port``."""
        return "port" in self.model_fields_set

    @property
    def address(self) -> str:
        """The name people see in chat and in the audit log, as andon.toml writes the host: a
        host without a user is an alias its ssh_config completes."""
        if self.is_local:
            return LOCAL
        if self.user is None:
            return f"{self.host}:{self.port}" if self.port_given else self.host
        return f"{self.user}@{self.host}:{self.port}"

    def __str__(self) -> str:
        return self.address


def _batch(value: Any) -> int | str:
    """A batch is a host count (``1``, a canary) or a share of the hosts (``"50%"``)."""
    shown = str(value).lower() if isinstance(value, bool) else repr(value)
    hint = f"{shown} is not a batch; write a number of hosts (1) or a share ('50%')"
    if isinstance(value, bool):
        raise ValueError(hint)
    if isinstance(value, int):
        if value < 1:
            raise ValueError(f"{value} is not a batch; a batch has at least 1 host")
        return value
    match = re.fullmatch(r"(\d{1,3})%", value.strip()) if isinstance(value, str) else None
    if match is None or not 1 <= int(match[1]) <= 100:
        raise ValueError(hint)
    return f"{int(match[1])}%"


Batch = Annotated[int | str, BeforeValidator(_batch)]


class Environment(BaseModel):
    """A set of hosts that receive the same release, one batch at a time."""

    model_config = STRICT

    path: ReleasePath  # releases/<sha>/ and the current symlink live here
    hosts: list[Host] = Field(min_length=1)
    ssh_key: str | None = None
    known_hosts: str | None = None
    ssh_config: str | None = Field(default=None, min_length=1)  # "none": read no ssh_config
    keep_releases: int = Field(default=5, ge=1)
    batches: list[Batch] = Field(default_factory=lambda: [1, "100%"], min_length=1)
    max_parallel: int = Field(default=10, ge=1)
    max_connections: int = Field(default=256, ge=1)  # SSH connections open at once, at most
    health_url: HttpUrl | None = None
    health_command: str | None = Field(default=None, min_length=1)
    health_timeout: Duration = timedelta(seconds=60)
    auto_deploy: bool = False
    after: Name | None = None  # the environment a release must reach first
    bake: Duration | None = None  # how long it must have run there without alerts
    require_approval: bool = False
    rollback_stops_line: bool = True
    resume: bool = False  # a deploy interrupted between batches continues by itself
    before_activate: list[str] = Field(default_factory=list)
    after_activate: list[str] = Field(default_factory=list)
    watch: list[Name] = Field(default_factory=list)  # [[checks]] a deploy here watches
    watch_for: Duration = timedelta(minutes=2)  # … after each batch goes live

    @field_validator("hosts")
    @classmethod
    def _hosts_unique(cls, hosts: list[Host]) -> list[Host]:
        seen: set[str] = set()
        for host in hosts:
            if host.address in seen:
                raise ValueError(f"{host.address} is listed twice")
            seen.add(host.address)
        return hosts

    @field_validator("after")
    @classmethod
    def _after_is_defined(cls, after: str | None, info: ValidationInfo) -> str | None:
        # load() passes the names of all environments, so the mistake is reported at its key.
        known = (info.context or {}).get("environments")
        if after is not None and known is not None and after not in known:
            raise ValueError(f"{after!r} is not a defined environment")
        return after

    def host_path(self, host: Host) -> str:
        """The release root on one host: its own ``path`` if set, else the environment's."""
        return host.path or self.path

    def host_health_url(self, host: Host) -> str | None:
        """The health URL for one host, with ``{host}``, ``{port}`` and ``{user}`` filled in."""
        url = host.health_url or self.health_url
        return url.format(host=host.host, port=host.port, user=host.user or "") if url else None
