"""One HTTP/1.1 request from the hook to Andon, on a bare socket.

Every push waits for the hook to start, and ``urllib.request`` made the hook import ``http.client``,
``email`` (which ``http.client`` parses headers with) and ``ssl`` even for an ``http://`` URL:
about as long as Python's own start. The hook sends one request and reads one answer, so that
much HTTP is written here: ``Connection: close``, the answer read whole — by ``Content-Length``,
in chunks, or to the end — and ``ssl`` imported only for ``https://``, checked against the same
certificates ``urllib`` would use. Redirects are not followed (a ``POST`` has nowhere to go).

Only ``_socket`` is imported (``socket``'s C half: ``socket`` itself adds ``selectors`` and its
enums, a tenth of Python's start, for ``create_connection``, whose few lines are below); ``socket``
and ``ssl`` come in for ``https://`` only. Proxies are ``urllib``'s to honour: the hook asks this
module only when no ``*_proxy`` variable is set (``bot.githooks.gate_ask``).
"""

from __future__ import annotations

import _socket

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: ``typing`` is not imported when the hook runs
    from collections.abc import Mapping

MAX_HEAD = 65536  # status line and headers, as http.client bounds a header line
MAX_HEADERS = 100  # as http.client
_CHUNK = 65536


class NotHttpError(Exception):
    """What came back is not an HTTP answer, or stops before its end."""


def request(
    url: str,
    method: str,
    headers: Mapping[str, str],
    data: bytes,
    *,
    timeout: float,
    cafile: str | None = None,
) -> tuple[int, bytes]:
    """The status and body of the answer to ``method url``. Raises ``OSError`` (``TimeoutError``
    among them) when Andon cannot be reached, ``ValueError`` for a URL that names no host or
    port, ``NotHttpError`` for an answer that cannot be read."""
    scheme, host, port, netloc, target = _parts(url)
    head = [f"{method} {target} HTTP/1.1", f"Host: {netloc}", "Accept-Encoding: identity"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    head += [f"Content-Length: {len(data)}", "Connection: close", "", ""]
    sent = "\r\n".join(head).encode("latin-1") + data
    connection = _connected(host, port, timeout)
    try:
        if scheme == "https":
            connection = _secured(connection, host, cafile, timeout)
        connection.sendall(sent)
        return _Answer(connection).read()
    finally:
        connection.close()


def _parts(url: str) -> tuple[str, str, int, str, str]:
    """Scheme, host to connect to, port, the ``Host`` header and the request target."""
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    rest = rest.partition("#")[0]
    cut = min((at for at in (rest.find("/"), rest.find("?")) if at >= 0), default=len(rest))
    netloc, target = rest[:cut], rest[cut:]
    if not target.startswith("/"):
        target = "/" + target
    host, port = netloc, ""
    if netloc.startswith("["):  # an IPv6 address
        end = netloc.find("]")
        host, port = netloc[1:end], netloc[end + 1 :].removeprefix(":")
    elif ":" in netloc:
        host, _, port = netloc.rpartition(":")
    if not host:
        raise ValueError("no host given")
    if port and not port.isdigit():
        raise ValueError(f"nonnumeric port: '{port}'")
    default = 443 if scheme == "https" else 80
    header = netloc if netloc.isascii() else netloc.encode("idna").decode()
    return scheme, host, int(port) if port else default, header, target


def _connected(host: str, port: int, timeout: float) -> _socket.socket:
    """``socket.create_connection``: each address the name resolves to in turn; the last error
    when none answers."""
    failed: OSError | None = None
    # An ASCII name goes as bytes: a str is encoded with the "idna" codec, whose import (with
    # ``stringprep`` and ``unicodedata``) costs more than the lookup of a name like "andon".
    name = host.encode() if host.isascii() else host
    for family, kind, proto, _, address in _socket.getaddrinfo(name, port, 0, _socket.SOCK_STREAM):
        connection = _socket.socket(family, kind, proto)
        try:
            connection.settimeout(timeout)
            connection.connect(address)
        except OSError as error:
            connection.close()
            failed = error
            continue
        return connection
    raise failed or OSError("getaddrinfo returns an empty list")


def _secured(
    connection: _socket.socket, host: str, cafile: str | None, timeout: float
) -> _socket.socket:
    """TLS as ``urllib`` sets it up: the system's certificates (or ``cafile``), the host name
    checked, HTTP/1.1 offered by ALPN."""
    import socket
    import ssl

    context = ssl.create_default_context(cafile=cafile)
    context.set_alpn_protocols(["http/1.1"])
    plain = socket.socket(fileno=connection.detach())
    try:
        plain.settimeout(timeout)
        return context.wrap_socket(plain, server_hostname=host)
    except BaseException:
        plain.close()
        raise


class _Answer:
    """The answer as it arrives: a buffer over the socket, read to the end of the answer."""

    def __init__(self, connection: _socket.socket) -> None:
        self._connection = connection
        self._buffer = b""
        self._ended = False

    def read(self) -> tuple[int, bytes]:
        status, headers = self._head()
        while 100 <= status < 200:  # an interim answer: the real one follows
            status, headers = self._head()
        if status in (204, 304):
            return status, b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return status, self._chunked()
        length = headers.get("content-length")
        if length is not None:
            if not length.strip().isdigit():
                raise NotHttpError(f"a Content-Length of {length[:40]!r}")
            return status, self._exactly(int(length))
        return status, self._rest()

    def _head(self) -> tuple[int, dict[str, str]]:
        end, blank = _blank_line(self._buffer)
        while end < 0:
            if len(self._buffer) > MAX_HEAD:
                raise NotHttpError("a head longer than 64 KiB")
            if not self._more():
                if not self._buffer:  # what http.client says when nothing came back
                    raise ConnectionResetError("Remote end closed connection without response")
                raise NotHttpError("an answer that ends inside its head")
            end, blank = _blank_line(self._buffer)
        lines = self._buffer[:end].decode("latin-1").replace("\r\n", "\n").split("\n")
        self._buffer = self._buffer[end + blank :]
        if len(lines) > MAX_HEADERS + 1:
            raise NotHttpError(f"more than {MAX_HEADERS} headers")
        headers = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        return _status(lines[0]), headers

    def _chunked(self) -> bytes:
        body = []
        while True:
            size_line = self._line()
            size = size_line.split(b";", 1)[0].strip()
            try:
                left = int(size, 16)
            except ValueError:
                raise NotHttpError(f"a chunk size of {size[:40]!r}") from None
            if left == 0:
                return b"".join(body)  # trailers, if any, are not read: the socket closes
            body.append(self._exactly(left))
            self._line()  # the chunk's CRLF

    def _line(self) -> bytes:
        while b"\n" not in self._buffer:
            if len(self._buffer) > MAX_HEAD:
                raise NotHttpError("a line longer than 64 KiB")
            if not self._more():
                raise NotHttpError("an answer cut short")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.rstrip(b"\r")

    def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not self._more():
                raise NotHttpError(
                    f"an answer cut short ({len(self._buffer)} of {size} bytes of its body)"
                )
        taken, self._buffer = self._buffer[:size], self._buffer[size:]
        return taken

    def _rest(self) -> bytes:
        while self._more():
            pass
        taken, self._buffer = self._buffer, b""
        return taken

    def _more(self) -> bool:
        if self._ended:
            return False
        chunk = self._connection.recv(_CHUNK)
        if not chunk:
            self._ended = True
            return False
        self._buffer += chunk
        return True


def _blank_line(buffer: bytes) -> tuple[int, int]:
    """Where the head ends (the first empty line, CRLF or bare LF) and how long that blank is;
    -1 while it has not arrived."""
    found = [(at, 4) for at in (buffer.find(b"\r\n\r\n"),) if at >= 0]
    found += [(at, 2) for at in (buffer.find(b"\n\n"),) if at >= 0]
    return min(found) if found else (-1, 0)


def _status(line: str) -> int:
    """``HTTP/1.1 200 OK`` → 200."""
    version, _, rest = line.partition(" ")
    code = rest.strip()[:3]
    if not version.startswith("HTTP/") or not code.isdigit() or not 100 <= int(code) <= 999:
        raise NotHttpError(f"a status line of {line[:100]!r}")
    return int(code)
