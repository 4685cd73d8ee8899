"""One authenticated SSH connection and its SFTP session, as the transport's pool keeps it."""

import socket
import time
from contextlib import suppress
from dataclasses import dataclass, field

import paramiko

from core.deploy.transport import HostError

STALL_TIMEOUT = 60.0  # an SFTP request unanswered for a minute means the host is gone


@dataclass(eq=False)
class Link:
    """One authenticated SSH connection and its SFTP session, owned by the pool."""

    address: str
    client: paramiko.SSHClient
    sftp: paramiko.SFTPClient
    answered_at: float | None = None  # time.monotonic() of the last step that went through
    jumps: list[paramiko.SSHClient] = field(default_factory=list)  # ProxyJump's, in order

    def active(self) -> bool:
        transport = self.client.get_transport()
        return transport is not None and transport.is_active()

    def mark_answered(self) -> None:
        self.answered_at = time.monotonic()

    def answered_within(self, seconds: float) -> bool:
        """Answered a moment ago and still open: as good as the round trip of ``answers``."""
        if self.answered_at is None or not self.active():
            return False
        return time.monotonic() - self.answered_at < seconds

    def answers(self, timeout: float) -> bool:
        """One SFTP round trip: a connection to a host that died may still look active."""
        if not self.active():
            return False
        channel = self.sftp.get_channel()
        assert channel is not None
        channel.settimeout(timeout)
        try:
            self.sftp.normalize(".")
        except (OSError, EOFError, paramiko.SSHException):
            return False
        finally:
            channel.settimeout(STALL_TIMEOUT)
        self.mark_answered()
        return True

    def open_channel(self, timeout: float) -> paramiko.Channel:
        transport = self.client.get_transport()
        if transport is None:
            raise HostError(f"{self.address}: the connection is closed")
        return transport.open_session(timeout=timeout)

    def close(self) -> None:
        """Closed at once, on the host's side too: paramiko closes the socket only once its
        thread's read returns (up to 0.1 s), and until then the host still counts it open."""
        transport = self.client.get_transport()
        sock = transport.sock if transport is not None else None
        if isinstance(sock, socket.socket):  # not a jump host's channel or a proxy's pipe
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.client.close()
        for jump in reversed(self.jumps):
            jump.close()


def reason(error: BaseException) -> str:
    """What went wrong in the socket's or paramiko's own words, never a key or a password."""
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
