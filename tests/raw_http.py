"""HTTP written by hand on a socket: what no polite client sends — a body announced and never
sent, a chunked body that does not stop, headers or a body that trickle in."""

import json
import select
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

CHUNK = 64 * 1024


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # bytes of the request written before the answer came

    @property
    def detail(self) -> str:
        """The sentence the server said: ``detail`` (or ``error``, as /slack/events says it)."""
        said = json.loads(self.body)
        return said.get("detail") or said.get("error") or ""


def connect(url: str) -> socket.socket:
    where = urlsplit(url)
    return socket.create_connection((where.hostname, where.port), timeout=30)


def head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: andon.test",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunked(pieces: Iterable[bytes]) -> Iterable[bytes]:
    """Each piece framed as an HTTP/1.1 chunk (the last, empty chunk is never sent)."""
    for piece in pieces:
        yield b"%x\r\n" % len(piece) + piece + b"\r\n"


def send_until_answered(
    sock: socket.socket, pieces: Iterable[bytes], *, each: float = 0.0, timeout: float = 60.0
) -> Answer:
    """Write ``pieces`` one after another — waiting up to ``each`` seconds for an answer before
    the next, so a trickle is a trickle — until the server answers or closes, then read it."""
    sent = 0
    for piece in pieces:
        if _answered(sock, each):
            break
        try:
            sock.sendall(piece)
        except OSError:  # the server answered and closed while the stranger kept sending
            break
        sent += len(piece)
    return read_answer(sock, sent=sent, timeout=timeout)


def read_answer(sock: socket.socket, *, sent: int = 0, timeout: float = 60.0) -> Answer:
    """The answer's status, headers and body (by its Content-Length)."""
    sock.settimeout(timeout)
    data = bytearray()  # an answer may be large (an older Andon echoed bodies): grow in place
    while b"\r\n\r\n" not in data:  # the head is small: found in the first reads
        more = sock.recv(65536)
        if not more:
            raise ConnectionError(f"closed without an answer after {bytes(data[:200])!r}")
        data += more
    top, _, rest = bytes(data).partition(b"\r\n\r\n")
    body = bytearray(rest)
    status_line, *header_lines = top.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        more = sock.recv(65536)
        if not more:
            break
        body += more
    return Answer(int(status_line.split()[1]), headers, bytes(body[:length]), sent)


def closed_by_server(sock: socket.socket, timeout: float = 30.0) -> bool:
    """Whether the server closes the connection (after its answer) within ``timeout``."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def _answered(sock: socket.socket, wait: float) -> bool:
    readable, _, _ = select.select([sock], [], [], wait)
    return bool(readable)
