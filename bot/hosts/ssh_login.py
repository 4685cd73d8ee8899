"""Logging in to one SSH server — a jump host or the host itself — with its key checked against
known_hosts and refused when unknown or changed, and every failure told in a sentence that
names the server and never a key."""

import socket
from dataclasses import dataclass

import paramiko
from paramiko.ssh_exception import NoValidConnectionsError

from bot.hosts.ssh_config import Endpoint
from bot.hosts.ssh_link import reason
from core.deploy.transport import HostError, HostKeyError


@dataclass(frozen=True)
class Login:
    """What a login needs besides the server: whose keys, which known_hosts, how long."""

    address: str  # the host the deploy is for, as andon.toml names it
    known_hosts: str
    timeout: float
    pkey: paramiko.PKey | None = None  # the environment's ssh_key, when it applies
    key_described: str | None = None  # the path of that key, for the error


def log_in(
    client: paramiko.SSHClient,
    endpoint: Endpoint,
    *,
    login: Login,
    sock: paramiko.Channel | paramiko.ProxyCommand | None,
    jump: bool,
) -> None:
    """Connect and authenticate ``client``; a failure is a ``HostError`` naming the server."""
    named = _named(endpoint, login, jump=jump)
    client.set_missing_host_key_policy(_RefuseUnknown(named, login.known_hosts))
    files = list(endpoint.key_files) if login.pkey is None else []
    defaults = login.pkey is None and not files  # the keys ssh itself would try
    try:
        client.connect(
            endpoint.hostname,
            port=endpoint.port,
            username=endpoint.user,
            pkey=login.pkey,
            key_filename=files or None,
            allow_agent=defaults,
            look_for_keys=defaults,
            sock=sock,
            timeout=login.timeout,
            banner_timeout=login.timeout,
            auth_timeout=login.timeout,
            channel_timeout=login.timeout,
        )
    except paramiko.BadHostKeyException as error:
        raise HostKeyError(_changed_key_message(named, login.known_hosts, error)) from None
    except paramiko.AuthenticationException:
        raise _refused(endpoint, login, files, jump=jump) from None
    except NoValidConnectionsError as error:
        causes = {reason(cause) for cause in error.errors.values()}
        raise HostError(
            f"{_lead(endpoint, login, jump)}cannot connect: {', '.join(sorted(causes))}"
        ) from None
    except TimeoutError:
        raise HostError(
            f"{_lead(endpoint, login, jump)}cannot connect: no answer within {login.timeout:g}s"
        ) from None
    except socket.gaierror as error:
        raise HostError(
            f"{_lead(endpoint, login, jump)}cannot resolve {endpoint.hostname}: {error.strerror}"
        ) from None
    except (OSError, EOFError, paramiko.SSHException) as error:
        raise HostError(f"{_lead(endpoint, login, jump)}{reason(error)}") from error


def forward(
    client: paramiko.SSHClient, to: Endpoint, *, via: Endpoint, login: Login
) -> paramiko.Channel:
    """A ``direct-tcpip`` channel from the jump host to the next server: its socket."""
    transport = client.get_transport()
    assert transport is not None  # log_in succeeded
    try:
        return transport.open_channel(
            "direct-tcpip", (to.hostname, to.port), ("127.0.0.1", 0), timeout=login.timeout
        )
    except (OSError, EOFError, paramiko.SSHException) as error:
        raise HostError(
            f"{login.address}: jump host {via.name} ({via.where}) could not reach "
            f"{to.where}: {reason(error)}"
        ) from None


def _refused(endpoint: Endpoint, login: Login, files: list[str], *, jump: bool) -> HostError:
    keys = login.key_described or ", ".join(files) or "the default SSH keys"
    who = f"jump host {endpoint.name} ({endpoint.where})" if jump else login.address
    return HostError(
        f"authentication failed for {who} with {keys} — is its public key in the "
        "host's authorized_keys?" + (f" (on the way to {login.address})" if jump else "")
    )


def _named(endpoint: Endpoint, login: Login, *, jump: bool) -> str:
    if not jump:
        return endpoint.where
    return f"jump host {endpoint.name} ({endpoint.where}) on the way to {login.address}"


def _lead(endpoint: Endpoint, login: Login, jump: bool) -> str:
    return (
        f"{login.address}: jump host {endpoint.name} ({endpoint.where}): "
        if jump
        else f"{login.address}: "
    )


class _RefuseUnknown(paramiko.RejectPolicy):
    """``RejectPolicy``, with a message that tells the operator what to check and do."""

    def __init__(self, where: str, known_hosts: str) -> None:
        self.where = where
        self.known_hosts = known_hosts

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        raise HostKeyError(
            f"host key of {self.where} is not in {self.known_hosts} — add it with ssh-keyscan "
            f"after checking its fingerprint ({key.get_name()} {key.fingerprint})"
        )


def _changed_key_message(where: str, known_hosts: str, error: paramiko.BadHostKeyException) -> str:
    return (
        f"host key of {where} has CHANGED: {known_hosts} lists another key "
        f"({error.expected_key.fingerprint}, now offered: {error.key.fingerprint}) — if the host "
        "was rebuilt, check the new fingerprint and replace its line; otherwise someone may be "
        "intercepting the connection. Nothing was done."
    )


def read_key(path: str, address: str) -> paramiko.PKey:
    """Errors name the file and the problem, never the key or a passphrase."""
    try:
        return paramiko.PKey.from_path(path)
    except paramiko.PasswordRequiredException:
        raise HostError(
            f"{address}: the SSH key {path} is protected by a passphrase; "
            "Andon needs a key without one"
        ) from None
    except OSError as error:
        raise HostError(f"{address}: cannot read the SSH key {path}: {reason(error)}") from None
    except (paramiko.SSHException, ValueError) as error:
        raise HostError(
            f"{address}: {path} is not a private key Andon can use ({type(error).__name__})"
        ) from None
