"""The hook's own HTTP client against what may stand between it and Andon: a TLS terminator (its
certificate checked against the bundle the hook names), a front that re-chunks Andon's answer, a
proxy answering 502 for an Andon it cannot reach, something that does not speak HTTP, and a
forward proxy named in the hook's environment. Real ``git push`` through the hook that ``andon
gate install`` writes, real ``andon serve`` behind the front; what the pusher reads is asserted.
Then answers framed every way HTTP allows (and cut short), from a raw socket, to the hook's
question in-process."""

import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from bot.githooks import gate_ask
from tests.conformance.tls import TlsTerminator
from tests.gate_line import (
    REFUSED_MAIN,
    Developer,
    dev,
    gate_pushes,
    gate_root,
    line_server,
    said,
    serving,
    stop_line,
)
from tests.harness import AndonServer

__all__ = ["dev", "gate_root", "line_server", "serving"]  # the fixtures of tests/gate_line.py

FAIL_OPEN = "\n[gate]\nfail_open = true\n"


class Front:
    """A server on loopback between the hook and Andon, answering as ``mode`` says: ``chunked``
    relays to Andon and answers in 7-byte chunks; ``proxy`` is a forward proxy (the request line
    carries the whole URL) relaying as it is; ``502`` and ``not-http`` never reach Andon."""

    def __init__(self, andon: AndonServer, mode: str) -> None:
        self.seen: list[str] = []  # request lines, as the front received them
        self.andon, self.mode = andon, mode
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _FrontHandler)
        self._server.front = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _FrontHandler(BaseHTTPRequestHandler):
    """The front's side of each request, as its ``mode`` says."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        front: Front = self.server.front  # type: ignore[attr-defined]
        front.seen.append(self.requestline)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if front.mode == "not-http":
            self.wfile.write(b"SSH-2.0-OpenSSH_9.2\r\n")
            self.close_connection = True
            return
        if front.mode == "502":
            self._answer(502, b"<html>502 Bad Gateway</html>\n", chunked=False)
            return
        path = self.path if front.mode == "chunked" else self.path.split("/", 3)[3]
        relayed = requests.post(
            f"{front.andon.url}/{path.lstrip('/')}",
            data=body,
            headers={
                "Content-Type": self.headers["Content-Type"],
                "Authorization": self.headers.get("Authorization", ""),
            },
            timeout=10,
        )
        self._answer(relayed.status_code, relayed.content, chunked=front.mode == "chunked")

    def _answer(self, status: int, body: bytes, *, chunked: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if not chunked:
            self.wfile.write(body)
            return
        for at in range(0, len(body), 7):
            piece = body[at : at + 7]
            self.wfile.write(f"{len(piece):x};piece\r\n".encode() + piece + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def front() -> Iterator[Callable[[AndonServer, str], Front]]:
    started: list[Front] = []

    def start(andon: AndonServer, mode: str) -> Front:
        started.append(Front(andon, mode))
        return started[-1]

    yield start
    for each in started:
        each.stop()


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[Callable[[AndonServer], TlsTerminator]]:
    started: list[TlsTerminator] = []

    def start(andon: AndonServer) -> TlsTerminator:
        (tmp_path / "tls").mkdir()
        started.append(TlsTerminator(tmp_path / "tls", target=int(andon.env["ANDON_HTTP_PORT"])))
        return started[-1]

    yield start
    for each in started:
        each.stop()


def test_an_https_andon_is_checked_against_the_bundle_the_hook_names(
    dev: Developer, serving: Callable[..., AndonServer], tls: Callable[..., TlsTerminator]
) -> None:
    server = serving()
    terminator = tls(server)
    audited_before = gate_pushes(server)
    dev.commit("Add the cart")

    untrusted = dev.push(ANDON_URL=terminator.url)
    trusted = dev.push(ANDON_URL=terminator.url, REQUESTS_CA_BUNDLE=str(terminator.cafile))

    assert untrusted.returncode != 0
    assert f"Andon could not be reached at {terminator.url}: " in said(untrusted)
    assert "certificate verify failed" in said(untrusted)
    assert trusted.returncode == 0, said(trusted)
    assert len(gate_pushes(server) - audited_before) == 1  # only the trusted push asked Andon


def test_an_answer_in_chunks_is_read_whole(
    dev: Developer, serving: Callable[..., AndonServer], front: Callable[..., Front]
) -> None:
    server = serving()
    chunked = front(server, "chunked")
    dev.commit("Add the cart")
    assert dev.push(ANDON_URL=chunked.url).returncode == 0
    stop_line(server)
    dev.commit("Add the coupon field")

    pushed = dev.push(ANDON_URL=chunked.url)

    assert pushed.returncode != 0
    assert "remote: Andon: the line is stopped — push to main refused." in said(pushed)
    assert 'git push -o line-fix="<why>"' in said(pushed)
    assert chunked.seen == ["POST /api/gate HTTP/1.1"] * 2


def test_a_proxy_answering_502_is_andon_unreachable_and_fail_open_lets_the_push_through(
    dev: Developer, serving: Callable[..., AndonServer], front: Callable[..., Front]
) -> None:
    bad_gateway = front(serving(FAIL_OPEN), "502")
    revision = dev.commit("Add the cart")

    pushed = dev.push(ANDON_URL=bad_gateway.url)

    assert pushed.returncode == 0, said(pushed)
    shown = said(pushed)
    assert f"Andon could not be reached: Andon at {bad_gateway.url} answered HTTP 502" in shown
    assert "remote: andon: warning: [gate] fail_open = true, so this push is let through" in shown
    assert dev.head() == revision


def test_an_answer_that_is_not_http_is_refused_even_with_fail_open(
    dev: Developer, serving: Callable[..., AndonServer], front: Callable[..., Front]
) -> None:
    stranger = front(serving(FAIL_OPEN), "not-http")
    dev.commit("Add the cart")

    pushed = dev.push(ANDON_URL=stranger.url)

    assert pushed.returncode != 0
    assert f"remote: andon: Andon at {stranger.url} answered, but not in HTTP" in said(pushed)
    assert "the commit check passes only what it has checked" in said(pushed)
    assert "let through" not in said(pushed)
    assert REFUSED_MAIN in said(pushed)
    assert dev.head() is None


def test_a_proxy_named_in_the_hooks_environment_carries_the_question(
    dev: Developer, serving: Callable[..., AndonServer], front: Callable[..., Front]
) -> None:
    server = serving()
    proxy = front(server, "proxy")
    revision = dev.commit("Add the cart")

    pushed = dev.push(http_proxy=proxy.url, no_proxy="", NO_PROXY="")

    assert pushed.returncode == 0, said(pushed)
    assert dev.head() == revision
    assert proxy.seen == [f"POST {server.url}/api/gate HTTP/1.1"]


# --- answers as they may arrive, from a raw socket on loopback -----------------------------------

ALLOWED = b'{"allow": true, "message": "", "unchecked": 0}'
BODY = {"refs": [{"old": "a" * 40, "new": "b" * 40, "ref": "refs/heads/main"}], "pusher": "dana"}


class RawAnswer:
    """Accepts one connection, reads the request's head and body, writes ``answer`` as it is,
    then closes: an HTTP server of any age or a stranger, byte for byte."""

    def __init__(self, answer: bytes) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.request = b""
        self._thread = threading.Thread(target=self._serve, args=(answer,), daemon=True)
        self._thread.start()

    def _serve(self, answer: bytes) -> None:
        connection, _ = self._listener.accept()
        with connection:
            connection.settimeout(10)
            while b"\r\n\r\n" not in self.request:
                self.request += connection.recv(65536)
            head, _, body = self.request.partition(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            while len(body) < length:
                body += connection.recv(65536)
            connection.sendall(answer)

    def close(self) -> None:
        self._thread.join(timeout=10)
        self._listener.close()


@pytest.fixture
def raw() -> Iterator[Callable[[bytes], RawAnswer]]:
    started: list[RawAnswer] = []

    def start(answer: bytes) -> RawAnswer:
        started.append(RawAnswer(answer))
        return started[-1]

    yield start
    for each in started:
        each.close()


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + ALLOWED,
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
        % (len(ALLOWED), ALLOWED),
        b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n%x\r\n%s\r\n0\r\n\r\n"
        % (len(ALLOWED), ALLOWED),
    ],
    ids=["read-to-the-end", "after-100-continue", "bare-newlines-chunked"],
)
def test_an_answer_in_any_framing_http_allows_is_read(
    raw: Callable[[bytes], RawAnswer], answer: bytes
) -> None:
    server = raw(answer)

    allowed = gate_ask.server(server.url, {"ANDON_API_TOKEN": "t0ken"}, BODY)

    assert allowed == (True, "", True)
    head = server.request.partition(b"\r\n\r\n")[0].decode()
    assert head.startswith("POST /api/gate HTTP/1.1\r\n")
    assert f"\r\nHost: {server.url.removeprefix('http://')}\r\n" in head
    assert "\r\nAuthorization: Bearer t0ken\r\n" in head


def test_an_answer_cut_short_is_not_trusted(raw: Callable[[bytes], RawAnswer]) -> None:
    server = raw(b"HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n" + ALLOWED)

    with pytest.raises(gate_ask.UnansweredError) as refused:
        gate_ask.server(server.url, {}, BODY)

    assert f"Andon at {server.url} answered, but not in HTTP: an answer cut short" in str(
        refused.value
    )


def test_a_connection_closed_without_an_answer_is_andon_unreachable(
    raw: Callable[[bytes], RawAnswer],
) -> None:
    server = raw(b"")

    with pytest.raises(gate_ask.UnreachableError) as unreached:
        gate_ask.server(server.url, {}, BODY)

    assert str(unreached.value) == (
        f"Andon could not be reached at {server.url}: "
        "Remote end closed connection without response."
    )
