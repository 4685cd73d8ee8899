"""The deploy port over SSH with paramiko: SFTP for filesystem moves, exec channels for commands.

Every exec channel costs 90–155 ms even on an open connection (sshd forks a session and a
shell), while an SFTP request costs a round trip: so the flip of ``current`` is two SFTP
requests sent together and a look at a host several (one round trip each), commands run only
where a tool must (staging — ``cp -al``, ``tar`` and ``sha256sum`` as one script — and hooks),
and connections stay open between deploys.
"""

import os
import socket
import threading
from contextlib import suppress
from dataclasses import replace
from itertools import pairwise

import paramiko

from bot.hosts import ssh_config
from bot.hosts.known_hosts import KnownHosts
from bot.hosts.ssh_config import Endpoint
from bot.hosts.ssh_connection import SshConnection
from bot.hosts.ssh_link import STALL_TIMEOUT, Link, reason
from bot.hosts.ssh_login import Login, forward, log_in, read_key
from core.config.hosts import Host
from core.deploy.transport import Connection, HostError

DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
_FRESH_FOR = 1.0  # a connection that answered this recently is lent without a liveness check
MAX_CONNECTIONS = 256  # ``[environments.<name>] max_connections``'s default


class SshTransport:
    """Opens authenticated connections and keeps one warm per host between deploys.

    At most ``max_connections`` are open at once (each costs a thread here, a socket, and a
    session on the host): past it, an idle connection is closed to make room, and with none
    idle a connect waits until one is given back.

    Only key authentication, and only hosts — jump hosts too — whose key is already in
    ``known_hosts``: an unknown or changed host key is refused, never learned. Hosts are
    reached as the ssh_config says (bot/hosts/ssh_config.py), andon.toml winning.
    """

    def __init__(
        self,
        key_path: str | None,
        known_hosts: str | None,
        *,
        ssh_config: str | None = None,
        connect_timeout: float = 10,
        keepalive: int = 15,
        fresh_for: float = _FRESH_FOR,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.key_path = os.path.expanduser(key_path) if key_path else None
        self.known_hosts = os.path.expanduser(known_hosts or DEFAULT_KNOWN_HOSTS)
        self._known = KnownHosts(self.known_hosts)
        self.ssh_config_path = ssh_config  # None: ~/.ssh/config when there is one
        self._config: paramiko.SSHConfig | None = None
        self.connect_timeout = connect_timeout
        self.keepalive = keepalive
        self.fresh_for = fresh_for
        self._key: paramiko.PKey | None = None
        self._key_lock = threading.Lock()
        self._guard = threading.Lock()  # guards the dictionaries below, never held for I/O
        self._room = threading.Condition(self._guard)  # a connection closed or given back
        self._locks: dict[str, threading.Lock] = {}
        self._idle: dict[str, Link] = {}  # in the order given back
        self._links: set[Link] = set()
        self._dialling = 0
        self.max_connections = max(1, max_connections)
        self.dialled = 0  # connections opened so far, and the most open at once: for the
        self.most_open = 0  # metrics of a benchmark and the tests of the cap

    def connect(self, host: Host) -> Connection:
        if host.is_local:
            raise HostError("local is not an SSH host: it needs the local transport")
        with self._lock(host.address):
            link = self._take_idle(host.address) or self._dial_within_cap(host)
        return SshConnection(link, self._release)

    @property
    def open_now(self) -> int:
        """Connections open (lent or idle) or being opened."""
        with self._guard:
            return len(self._links) + self._dialling

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
                self._room.notify_all()  # a waiting connect may close it to make room
                return
        self._discard(link)

    def _discard(self, link: Link) -> None:
        """Closed first, then counted out: the cap holds on the hosts' side too."""
        link.close()
        with self._guard:
            self._links.discard(link)
            self._room.notify_all()

    def _dial_within_cap(self, host: Host) -> Link:
        """A new connection once there is room: an idle one closed if need be, or wait for one
        to be given back. The one closed is the one given back last: every step goes over the
        hosts in the same order, so the others are the next ones needed (closing the oldest
        would close each just before its turn, and a fleet larger than the cap would dial
        every host at every step)."""
        evicted: list[Link] = []
        with self._room:
            while len(self._links) + self._dialling >= self.max_connections:
                if self._idle:
                    newest = self._idle.pop(next(reversed(self._idle)))
                    self._links.discard(newest)
                    evicted.append(newest)
                else:
                    self._room.wait()
            self._dialling += 1
            self.dialled += 1
            self.most_open = max(self.most_open, len(self._links) + self._dialling)
        for link in evicted:
            link.close()
        link = None
        try:
            link = self._dial(host)
        finally:
            with self._room:
                self._dialling -= 1
                if link is not None:
                    self._links.add(link)
                self._room.notify_all()
        return link

    def _dial(self, host: Host) -> Link:
        """Log in to each jump host in turn, each forwarding to the next, then to the host."""
        route = ssh_config.route(self._ssh_config(), host)
        login = Login(host.address, self.known_hosts, self.connect_timeout)
        clients: list[paramiko.SSHClient] = []
        proxy: paramiko.ProxyCommand | None = None
        try:
            if route.proxy_command:
                proxy = paramiko.ProxyCommand(route.proxy_command)
            sock: paramiko.Channel | paramiko.ProxyCommand | None = proxy
            for jump, following in pairwise((*route.jumps, route.target)):
                clients.append(paramiko.SSHClient())
                self._log_in(clients[-1], jump, login=login, sock=sock, jump=True)
                sock = forward(clients[-1], following, via=jump, login=login)
            client = paramiko.SSHClient()
            clients.append(client)
            self._log_in(client, route.target, login=login, sock=sock, jump=False)
            transport = client.get_transport()
            assert transport is not None  # connect() succeeded
            transport.set_keepalive(self.keepalive)
            _no_delay(transport)
            sftp = client.open_sftp()
        except BaseException as error:
            _close(clients, proxy)
            if isinstance(error, (OSError, EOFError, paramiko.SSHException)):
                raise HostError(f"{host.address}: {reason(error)}") from error
            raise
        sftp.get_channel().settimeout(STALL_TIMEOUT)
        return Link(host.address, client, sftp, jumps=clients[:-1])

    def _log_in(
        self,
        client: paramiko.SSHClient,
        endpoint: Endpoint,
        *,
        login: Login,
        sock: paramiko.Channel | paramiko.ProxyCommand | None,
        jump: bool,
    ) -> None:
        """The environment's ssh_key wins for the host; a jump host's own IdentityFile wins
        for it (docs/deploy.md, SSH as configured)."""
        self._load_host_keys(client, endpoint, login.address)
        if self.key_path is not None and not (jump and endpoint.key_files):
            key = self._client_key(login.address)
            login = replace(login, pkey=key, key_described=self.key_path)
        log_in(client, endpoint, login=login, sock=sock, jump=jump)

    def _ssh_config(self) -> paramiko.SSHConfig:
        """Read once, on first use; a file that cannot be read is reported per host."""
        with self._key_lock:
            if self._config is None:
                self._config = ssh_config.read(self.ssh_config_path)
            return self._config

    def _load_host_keys(self, client: paramiko.SSHClient, endpoint: Endpoint, address: str) -> None:
        try:
            self._known.give(client, endpoint.hostname, endpoint.port)
        except (OSError, paramiko.SSHException) as error:
            raise HostError(
                f"{address}: cannot read {self.known_hosts}: {reason(error)}"
            ) from error

    def _client_key(self, address: str) -> paramiko.PKey:
        """Read once, on first use: a missing key file is reported per host, like a refusal."""
        assert self.key_path is not None
        with self._key_lock:
            if self._key is None:
                self._key = read_key(self.key_path, address)
            return self._key


def _close(clients: list[paramiko.SSHClient], proxy: paramiko.ProxyCommand | None) -> None:
    """The host's client first, then each jump host's, back to the first."""
    for client in reversed(clients):
        client.close()
    if proxy is not None:
        with suppress(OSError):
            proxy.close()


def _no_delay(transport: paramiko.Transport) -> None:
    """Small packets leave at once. With Nagle's algorithm a request sent while another packet
    is unacknowledged (pipelined SFTP requests, the first request after a channel closes) waits
    for the host's delayed ACK: 40 ms on Linux, longer than the request itself."""
    sock = transport.sock
    if isinstance(sock, socket.socket):  # not a proxy command's pipe
        with suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
