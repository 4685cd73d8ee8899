"""The deploy port over SSH with paramiko: SFTP for filesystem moves, exec channels for commands.

Every exec channel costs 90–155 ms even on an open connection (sshd forks a session and a
shell), while an SFTP request costs a round trip: so the flip of ``current`` is two SFTP
requests, a look at a host one (pipelined), commands run only where a tool must (staging —
``cp -al``, ``tar`` and ``sha256sum`` as one script — and hooks), and connections stay open
between deploys (TESTING.md, SSH hosts).
"""

import os
import socket
import threading
from contextlib import suppress

import paramiko
from paramiko.ssh_exception import NoValidConnectionsError

from bot.hosts.ssh_connection import SshConnection
from bot.hosts.ssh_link import STALL_TIMEOUT, Link, reason
from core.config_hosts import Host
from core.deploy.transport import Connection, HostError, HostKeyError

DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
_FRESH_FOR = 1.0  # a connection that answered this recently is lent without a liveness check


class SshTransport:
    """Opens authenticated connections and keeps one warm per host between deploys.

    Only key authentication, and only hosts whose key is already in ``known_hosts``: an
    unknown or changed host key is refused, never learned.
    """

    def __init__(
        self,
        key_path: str | None,
        known_hosts: str | None,
        *,
        connect_timeout: float = 10,
        keepalive: int = 15,
        fresh_for: float = _FRESH_FOR,
    ) -> None:
        self.key_path = os.path.expanduser(key_path) if key_path else None
        self.known_hosts = os.path.expanduser(known_hosts or DEFAULT_KNOWN_HOSTS)
        self.connect_timeout = connect_timeout
        self.keepalive = keepalive
        self.fresh_for = fresh_for
        self._key: paramiko.PKey | None = None
        self._key_lock = threading.Lock()
        self._guard = threading.Lock()  # guards the dictionaries below, never held for I/O
        self._locks: dict[str, threading.Lock] = {}
        self._idle: dict[str, Link] = {}
        self._links: set[Link] = set()

    def connect(self, host: Host) -> Connection:
        if host.is_local:
            raise HostError("local is not an SSH host: it needs the local transport")
        with self._lock(host.address):
            link = self._take_idle(host.address) or self._dial(host)
        return SshConnection(link, self._release)

    def close(self) -> None:
        with self._guard:
            links = list(self._links)
            self._links.clear()
            self._idle.clear()
        for link in links:
            link.close()

    def _lock(self, address: str) -> threading.Lock:
        """One lock per host: hosts are dialled in parallel, each by one thread at a time."""
        with self._guard:
            return self._locks.setdefault(address, threading.Lock())

    def _take_idle(self, address: str) -> Link | None:
        """The warm connection, if it still answers: a host may have rebooted since.

        One that answered within ``fresh_for`` seconds is not asked again: the next step of
        the same deploy, or a rollback right after one, would otherwise pay a round trip per
        host for a question just answered.
        """
        with self._guard:
            link = self._idle.pop(address, None)
        if link is None or link.answered_within(self.fresh_for):
            return link
        if not link.answers(self.connect_timeout):
            self._discard(link)
            return None
        return link

    def _release(self, link: Link) -> None:
        with self._guard:
            if link.active() and link in self._links and link.address not in self._idle:
                self._idle[link.address] = link
                return
        self._discard(link)

    def _discard(self, link: Link) -> None:
        with self._guard:
            self._links.discard(link)
        link.close()

    def _dial(self, host: Host) -> Link:
        client = paramiko.SSHClient()
        try:
            self._authenticate(client, host)
            transport = client.get_transport()
            assert transport is not None  # connect() succeeded
            transport.set_keepalive(self.keepalive)
            _no_delay(transport)
            sftp = client.open_sftp()
        except HostError:
            client.close()
            raise
        except (OSError, EOFError, paramiko.SSHException) as error:
            client.close()
            raise HostError(f"{host.address}: {reason(error)}") from error
        sftp.get_channel().settimeout(STALL_TIMEOUT)
        link = Link(host.address, client, sftp)
        with self._guard:
            self._links.add(link)
        return link

    def _authenticate(self, client: paramiko.SSHClient, host: Host) -> None:
        self._load_host_keys(client, host)
        where = f"{host.host}:{host.port}"
        client.set_missing_host_key_policy(_RefuseUnknown(where, self.known_hosts))
        key = self._client_key(host)
        try:
            client.connect(
                host.host.strip("[]"),
                port=host.port,
                username=host.user,
                pkey=key,
                allow_agent=key is None,  # no key configured: the keys ssh itself would use
                look_for_keys=key is None,
                timeout=self.connect_timeout,
                banner_timeout=self.connect_timeout,
                auth_timeout=self.connect_timeout,
                channel_timeout=self.connect_timeout,
            )
        except paramiko.BadHostKeyException as error:
            raise HostKeyError(_changed_key_message(where, self.known_hosts, error)) from None
        except paramiko.AuthenticationException:
            raise HostError(
                f"authentication failed for {host.address} with "
                f"{self.key_path or 'the default SSH keys'} — is its public key in the "
                "host's authorized_keys?"
            ) from None
        except NoValidConnectionsError as error:
            causes = {reason(cause) for cause in error.errors.values()}
            raise HostError(
                f"{host.address}: cannot connect: {', '.join(sorted(causes))}"
            ) from None
        except TimeoutError:
            raise HostError(
                f"{host.address}: cannot connect: no answer within {self.connect_timeout:g}s"
            ) from None
        except socket.gaierror as error:
            raise HostError(
                f"{host.address}: cannot resolve {host.host}: {error.strerror}"
            ) from None

    def _load_host_keys(self, client: paramiko.SSHClient, host: Host) -> None:
        if not os.path.exists(self.known_hosts):
            return  # every host is unknown, and refused as such
        try:
            client.load_system_host_keys(self.known_hosts)
        except (OSError, paramiko.SSHException) as error:
            raise HostError(
                f"{host.address}: cannot read {self.known_hosts}: {reason(error)}"
            ) from error

    def _client_key(self, host: Host) -> paramiko.PKey | None:
        """Read once, on first use: a missing key file is reported per host, like a refusal."""
        if self.key_path is None:
            return None
        with self._key_lock:
            if self._key is None:
                self._key = _read_key(self.key_path, host.address)
            return self._key


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


def _read_key(path: str, address: str) -> paramiko.PKey:
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


def _no_delay(transport: paramiko.Transport) -> None:
    """Small packets leave at once. With Nagle's algorithm a request sent while another packet
    is unacknowledged (pipelined SFTP requests, the first request after a channel closes) waits
    for the host's delayed ACK: 40 ms on Linux, longer than the request itself."""
    sock = transport.sock
    if isinstance(sock, socket.socket):  # not a proxy command's pipe
        with suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
