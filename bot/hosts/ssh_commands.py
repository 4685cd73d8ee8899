"""One command on its own exec channel: stdin fed, output read meanwhile, a deadline over both."""

import time
from collections.abc import Iterable

import paramiko

from core.deploy.transport import CommandResult

CHUNK = 32 * 1024


class Output:
    """A command's combined output; only its tail when ``limit`` is set."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.data = bytearray()

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        if self.limit is not None and len(self.data) > 8 * self.limit:
            del self.data[: -4 * self.limit]  # 4 bytes per character at most in UTF-8

    def text(self) -> str:
        text = self.data.decode("utf-8", errors="replace")
        return text if self.limit is None else text[-self.limit :]


def feed(
    channel: paramiko.Channel, chunks: Iterable[bytes], output: Output, deadline: float
) -> int:
    """Send stdin, reading output between chunks; stops early when the command stops reading."""
    sent = 0
    for chunk in chunks:
        while chunk:
            channel.settimeout(remaining(deadline))
            try:
                count = channel.send(chunk)
            except TimeoutError:
                raise
            except OSError:  # the command exited (tar failed): its output says why
                return sent
            if count == 0:
                return sent
            sent += count
            chunk = chunk[count:]
            while channel.recv_ready():
                output.add(channel.recv(CHUNK))
    return sent


def drain(channel: paramiko.Channel, output: Output, deadline: float) -> None:
    """Read the output to its end: the command's stdin is closed, it may still be writing."""
    while True:
        channel.settimeout(remaining(deadline))
        chunk = channel.recv(CHUNK)
        if not chunk:
            return
        output.add(chunk)


def remaining(deadline: float) -> float:
    """Seconds left before ``deadline``: every wait on the channel shares the step's budget."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def failure(result: CommandResult) -> str:
    """A failed command as errors name it: its exit status, then what it said."""
    output = result.output.strip()
    return f"exit status {result.status}" + (f": {output}" if output else "")
