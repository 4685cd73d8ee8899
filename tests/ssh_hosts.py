"""A fleet of real OpenSSH servers on loopback, one per "host", each with a health endpoint.

Every host is this machine seen through its own sshd port, host key and app directory, so a
test can check on the local filesystem what a transport did over SSH.
"""

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.harness import free_port
from tests.waiting import eventually

SSHD = "/usr/sbin/sshd"
_READY_TIMEOUT = 10.0


def generate_key(path: Path) -> Path:
    """An ed25519 key without passphrase: paramiko 5 cannot generate one itself."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "andon-test", "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return path


def public_key(key: Path) -> str:
    """``ssh-ed25519 AAAA…``: the part of a ``.pub`` file known_hosts and authorized_keys need."""
    kind, blob, *_ = Path(f"{key}.pub").read_text().split()
    return f"{kind} {blob}"


class _HealthHandler(BaseHTTPRequestHandler):
    """Healthy while ``current/REVISION`` is readable and ``current/UNHEALTHY`` is absent."""

    server: "_HealthServer"

    def do_GET(self) -> None:
        current = self.server.app / "current"
        try:
            revision = (current / "REVISION").read_bytes()
        except OSError:
            revision = None
        healthy = revision is not None and not (current / "UNHEALTHY").exists()
        self.send_response(200 if healthy else 503)
        body = revision if healthy and revision is not None else b"unhealthy\n"
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _HealthServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, app: Path) -> None:
        self.app = app
        super().__init__(("127.0.0.1", 0), _HealthHandler)


@dataclass
class SshHost:
    """One host of the fleet; ``address`` is how Andon names it (``user@127.0.0.1:port``)."""

    index: int
    root: Path
    port: int
    user: str
    health: _HealthServer
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    frozen: bool = False

    @property
    def address(self) -> str:
        return f"{self.user}@127.0.0.1:{self.port}"

    @property
    def path(self) -> str:
        return str(self.root / "app")

    @property
    def log(self) -> str:
        """What its sshd wrote (``-e``: to its stderr, kept in ``sshd.log``)."""
        return (self.root / "sshd.log").read_text(errors="replace")

    @property
    def health_port(self) -> int:
        return self.health.server_address[1]

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class SshFleet:
    """``count`` sshd processes on 127.0.0.1 sharing one client key and one known_hosts file."""

    def __init__(self, count: int = 3, *, log_level: str = "INFO") -> None:
        self.root = Path(tempfile.mkdtemp(prefix="andon-ssh-"))
        self.log_level = log_level  # DEBUG1 logs each direct-tcpip forward (a jump host's)
        self.user = getpass.getuser()
        self.key_path = generate_key(self.root / "client_ed25519")
        self.known_hosts_path = self.root / "known_hosts"
        self._authorized_keys = self.root / "authorized_keys"
        self._authorized_keys.write_text(public_key(self.key_path) + "\n")
        self.hosts: list[SshHost] = []
        try:
            for index in range(count):
                self.hosts.append(self._create(index))
                self.restart(index)
        except BaseException:
            self.stop()
            raise
        self.known_hosts_path.write_text(
            "".join(f"[127.0.0.1]:{h.port} {self.host_key(h.index)}\n" for h in self.hosts)
        )

    def _create(self, index: int) -> SshHost:
        root = self.root / "hosts" / str(index)
        (root / "app").mkdir(parents=True)
        generate_key(root / "host_ed25519")
        (root / "sshd_config").write_text(
            f"ListenAddress 127.0.0.1\n"
            f"HostKey {root / 'host_ed25519'}\n"
            f"PidFile {root / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {self._authorized_keys}\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "StrictModes no\n"
            "UseDNS no\n"
            "PrintMotd no\n"
            f"LogLevel {self.log_level}\n"
            "Subsystem sftp internal-sftp\n"
        )
        health = _HealthServer(root / "app")
        threading.Thread(target=health.serve_forever, daemon=True).start()
        return SshHost(index, root, free_port(), self.user, health)

    def host_key(self, index: int) -> str:
        """The host's public key as known_hosts lists it (``ssh-ed25519 AAAA…``)."""
        return public_key(self.hosts[index].root / "host_ed25519")

    def host_table(self, index: int) -> dict[str, Any]:
        """The host as written in ``andon.toml``, health URL included."""
        host = self.hosts[index]
        return {
            "host": "127.0.0.1",
            "user": host.user,
            "port": host.port,
            "path": host.path,
            "health_url": f"http://127.0.0.1:{host.health_port}/",
        }

    def restart(self, index: int) -> None:
        """Start (again) the host's sshd on the same port with the same keys."""
        host = self.hosts[index]
        self.kill(index)
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation dir
        with open(host.root / "sshd.log", "ab") as log:
            host.process = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(host.root / "sshd_config"), "-p", str(host.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        _wait_for_banner(host)

    def kill(self, index: int) -> None:
        """SIGKILL the host's sshd and its sessions, so open connections drop as in a crash."""
        host = self.hosts[index]
        if host.process is None:
            return
        for pid in [*_descendants(host.process.pid), host.process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        host.process.wait(timeout=10)
        host.process = None
        host.frozen = False

    def freeze_connections(self, index: int) -> None:
        """SIGSTOP the host's open sessions: they hang as behind a dead network path, while
        new connections are still served. ``kill``, ``restart`` or ``reset`` ends them."""
        host = self.hosts[index]
        assert host.process is not None
        for pid in _descendants(host.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        host.frozen = True

    def reset(self) -> None:
        """Between tests: every app directory empty and every sshd running."""
        for host in self.hosts:
            app = Path(host.path)
            shutil.rmtree(app, ignore_errors=True)
            app.mkdir()
            if host.frozen or not host.running:
                self.restart(host.index)

    def stop(self) -> None:
        for host in self.hosts:
            self.kill(host.index)
            host.health.shutdown()
            host.health.server_close()
        self.hosts = []
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "SshFleet":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _wait_for_banner(host: SshHost) -> None:
    """sshd is ready in a few ms; its ``SSH-`` banner is the signal, not a fixed sleep."""

    def log() -> str:
        return (host.root / "sshd.log").read_text(errors="replace")

    def greets() -> bool:
        if host.process is None or host.process.poll() is not None:
            raise RuntimeError(f"sshd for host {host.index} exited:\n{log()}")
        try:
            with socket.create_connection(("127.0.0.1", host.port), timeout=1) as sock:
                return sock.recv(4).startswith(b"SSH-")
        except OSError:
            return False

    eventually(
        greets,
        timeout=_READY_TIMEOUT,
        every=0.01,
        what=lambda: f"sshd for host {host.index} greeting on port {host.port}:\n{log()}",
    )


def _descendants(pid: int) -> list[int]:
    """Each connection is a forked sshd in its own session: find them by parent pid."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        children = parents.get(pending.pop(), [])
        found.extend(children)
        pending.extend(children)
    return found
