"""A host as ``ssh`` would reach it: andon.toml completed by the ssh_config (OpenSSH's format,
read with paramiko's ``SSHConfig``).

What andon.toml says explicitly wins: a host's ``user`` and ``port``, the environment's
``ssh_key``. The ssh_config fills in the rest — ``HostName``, ``User``, ``Port``,
``IdentityFile``, ``ProxyJump`` and ``ProxyCommand`` — for the host's name as an alias. Host
keys are never taken from it: every hop is checked against the environment's ``known_hosts``.
"""

import os
import re
from dataclasses import dataclass, field

import paramiko

from core.config.hosts import Environment, Host
from core.deploy.transport import HostError

DEFAULT_SSH_CONFIG = "~/.ssh/config"
NO_SSH_CONFIG = "none"  # as ``ssh -F none``
_JUMP = re.compile(
    r"(?:ssh://)?(?:(?P<user>[^@\s,/]+)@)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^:@\s,/\[\]]+)"
    r"(?::(?P<port>\d{1,5}))?/?"
)


@dataclass(frozen=True)
class Endpoint:
    """One SSH server on the way: a jump host or the host itself, as dialled."""

    name: str  # as written: the alias, or the ProxyJump entry
    hostname: str
    port: int
    user: str | None  # None: the local user, as ssh does for a jump host
    key_files: tuple[str, ...] = ()  # the ssh_config's IdentityFile entries that exist

    @property
    def where(self) -> str:
        """``hostname:port`` (``[::1]:22`` for an IPv6 address), as the operator reads it."""
        shown = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        return f"{shown}:{self.port}"


@dataclass(frozen=True)
class Route:
    """How to reach one host: through ``jumps`` in order, or by a ``proxy_command``."""

    target: Endpoint
    jumps: tuple[Endpoint, ...] = field(default=())
    proxy_command: str | None = None


def read(path: str | None) -> paramiko.SSHConfig:
    """The ssh_config an environment names; without one, ``~/.ssh/config`` when there is one."""
    if path == NO_SSH_CONFIG:
        return paramiko.SSHConfig()
    full = os.path.expanduser(path or DEFAULT_SSH_CONFIG)
    if path is None and not os.path.exists(full):
        return paramiko.SSHConfig()
    try:
        return paramiko.SSHConfig.from_path(full)
    except OSError as error:
        raise HostError(f"cannot read the ssh_config {full}: {error.strerror}") from None
    except Exception as error:  # paramiko's parser raises what it meets: name the file
        raise HostError(
            f"{full} is not an ssh_config Andon can read ({type(error).__name__}: {error})"
        ) from None


def route(config: paramiko.SSHConfig, host: Host) -> Route:
    """The host completed by the ssh_config, andon.toml winning where both say something."""
    found = config.lookup(host.host.strip("[]"))
    user = host.user or found.get("user")
    if user is None:
        raise HostError(
            f"{host.address}: no user to log in as — write user@{host.host} in andon.toml or "
            "set User for it in the ssh_config"
        )
    port = host.port if host.port_given else _port(found.get("port"), host.address)
    target = Endpoint(host.address, found.get("hostname", host.host.strip("[]")), port, user)
    target = _with_keys(target, found)
    jumps = found.get("proxyjump", "none")
    if jumps.strip().lower() != NO_SSH_CONFIG:
        hops = tuple(_jump(config, entry, host) for entry in jumps.split(","))
        return Route(target, jumps=hops)
    command = found.get("proxycommand", "none")
    if command.strip().lower() != NO_SSH_CONFIG:
        return Route(target, proxy_command=command)
    return Route(target)


def _jump(config: paramiko.SSHConfig, entry: str, host: Host) -> Endpoint:
    """One ``ProxyJump`` entry, ``[user@]host[:port]``, itself an alias the ssh_config
    completes (its own ProxyJump is not followed: the first host's list is the whole way)."""
    match = _JUMP.fullmatch(entry.strip())
    if match is None:
        raise HostError(f"{host.address}: {entry.strip()[:80]!r} in ProxyJump is not a host")
    name = match["host"].strip("[]")
    found = config.lookup(name)
    port = int(match["port"]) if match["port"] else _port(found.get("port"), entry.strip())
    jump = Endpoint(
        entry.strip(),
        found.get("hostname", name),
        port,
        match["user"] or found.get("user"),
    )
    return _with_keys(jump, found)


def _with_keys(endpoint: Endpoint, found: paramiko.SSHConfigDict) -> Endpoint:
    files = tuple(path for path in found.get("identityfile", []) if os.path.exists(path))
    return Endpoint(endpoint.name, endpoint.hostname, endpoint.port, endpoint.user, files)


def _port(text: str | None, name: str) -> int:
    if text is None:
        return 22
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise HostError(f"{name}: Port {text[:20]!r} in the ssh_config is not a port")
    return int(text)


def problems(environments: dict[str, Environment]) -> list[str]:
    """What ``andon config check`` says about reaching the SSH hosts, without dialling any."""
    found: list[str] = []
    for name, env in environments.items():
        if all(host.is_local for host in env.hosts):
            continue
        try:
            config = read(env.ssh_config)
        except HostError as error:
            found.append(f"environments.{name}.ssh_config: {error}")
            continue
        for index, host in enumerate(env.hosts):
            if host.is_local:
                continue
            try:
                path = route(config, host)
            except HostError as error:
                found.append(f"environments.{name}.hosts[{index}]: {error}")
                continue
            missing = _missing_keys(config, host) if env.ssh_key is None else []
            if missing and not path.target.key_files:
                found.append(
                    f"environments.{name}.hosts[{index}]: {host.address}: no IdentityFile the "
                    f"ssh_config names exists ({', '.join(missing)})"
                )
    return found


def _missing_keys(config: paramiko.SSHConfig, host: Host) -> list[str]:
    named = config.lookup(host.host.strip("[]")).get("identityfile", [])
    return [path for path in named if not os.path.exists(path)]
