"""``andon`` as the tests run it: forked from an interpreter that has imported Andon once.

Importing Andon is three quarters of a server's start and four fifths of a CLI run's CPU, and the
suite starts about four hundred of them. Each test process keeps one interpreter that imported
Andon (started on first need, ended with the test process); every ``andon`` a test runs is a fork
of it that becomes the real program from its entry point on: ``bot.cli.main`` with the command's
arguments, environment, working directory and standard streams, stopped by signals, exiting with
its own status and writing its own output. Only the imports before the entry point are shared.

``TESTS_COLD_START=1`` runs each command as a new interpreter instead, as a person's shell does;
``make test-lowest`` runs the suite that way, so the console script's own imports are exercised on
every CI run (and ``tests/test_terminal.py``'s terminal scenario and the git hooks always start
cold).
"""

import gc
import json
import locale
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from contextlib import suppress
from functools import cache
from pathlib import Path
from typing import IO, Any

COLD = os.environ.get("TESTS_COLD_START", "") not in ("", "0")
_MESSAGE = 1 << 20  # bytes: an environment, a working directory and the arguments fit
_PRELOAD = ("bot.cli.command_line", "bot.server.run", "bot.terminal.shell", "bot.render.reply")
_ENCODING = locale.getpreferredencoding(False)  # what text mode decodes with
_SLICE = 0.05  # seconds a waiter holds the line to the interpreter before letting others ask


class Forked:
    """What a test holds of a forked ``andon``: the part of ``subprocess.Popen`` the tests use."""

    def __init__(self, args: list[str], pid: int, origin: "_Origin", stdin: IO[str] | None):
        self.args = args
        self.pid = pid
        self.stdin = stdin
        self.returncode: int | None = None
        self._origin = origin

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._origin.exit_status(self.pid, timeout=0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self._origin.exit_status(self.pid, timeout=timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:  # an ended process's number may be someone else's by now
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


Process = Forked | subprocess.Popen[str]


def start(
    args: Sequence[str], *, env: dict[str, str], cwd: Path, stdin: Any, stdout: Any, stderr: Any
) -> Process:
    """``andon *args`` started as ``subprocess.Popen`` would (``stdin`` ``DEVNULL`` or ``PIPE``,
    ``stdout`` a file, ``stderr`` ``STDOUT``), forked unless the suite runs cold."""
    argv = [sys.executable, "-m", "bot.cli", *args]
    if COLD:
        return subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=stdin, stdout=stdout, stderr=stderr, text=True
        )
    if stdin == subprocess.PIPE:
        given, kept = os.pipe()
        writer: IO[str] | None = open(kept, "w", encoding=_ENCODING)  # noqa: SIM115
    else:
        given, writer = os.open(os.devnull, os.O_RDONLY), None
    out = _fd(stdout, 1)
    err = out if stderr == subprocess.STDOUT else _fd(stderr, 2)
    try:
        pid = _origin().fork(list(args), env, cwd, [given, out, err])
    finally:
        os.close(given)
    return Forked(argv, pid, _origin(), writer)


def _fd(stream: Any, inherited: int) -> int:
    """The descriptor a stream argument names (``None``: the test process's own)."""
    return inherited if stream is None else stream if isinstance(stream, int) else stream.fileno()


def run(
    args: Sequence[str], *, env: dict[str, str], cwd: Path, stdin: str, timeout: float
) -> subprocess.CompletedProcess[str]:
    """``andon *args`` run to its end as ``subprocess.run(..., capture_output=True, text=True)``
    runs it: ``stdin`` typed in, the output and the errors read apart."""
    argv = [sys.executable, "-m", "bot.cli", *args]
    if COLD:
        return subprocess.run(
            argv, env=env, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=timeout
        )
    pipes = [os.pipe() for _ in range(3)]  # (read, write) of stdin, stdout, stderr
    given = [pipes[0][0], pipes[1][1], pipes[2][1]]
    try:
        pid = _origin().fork(list(args), env, cwd, given)
    finally:
        for fd in given:
            os.close(fd)
    process = Forked(argv, pid, _origin(), None)
    readers = [_Reader(pipes[1][0]), _Reader(pipes[2][0])]
    threading.Thread(target=_type, args=(pipes[0][1], stdin), daemon=True).start()
    try:
        code = process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    out, err = (reader.text() for reader in readers)
    return subprocess.CompletedProcess(argv, code, out, err)


def _type(fd: int, text: str) -> None:
    # the command may end without reading all of it, as it may with a pipe
    with suppress(BrokenPipeError), open(fd, "w", encoding=_ENCODING) as typed:
        typed.write(text)


class _Reader:
    """One output stream read to its end beside the others, as ``communicate`` does."""

    def __init__(self, fd: int) -> None:
        self._chunks: list[bytes] = []
        self._thread = threading.Thread(target=self._read, args=(fd,), daemon=True)
        self._thread.start()

    def _read(self, fd: int) -> None:
        with open(fd, "rb") as stream:
            while chunk := stream.read1(65536):
                self._chunks.append(chunk)

    def text(self) -> str:
        self._thread.join()
        raw = b"".join(self._chunks).decode(_ENCODING)
        return raw.replace("\r\n", "\n").replace("\r", "\n")  # text mode's universal newlines


# --- the test process's side of the preloaded interpreter ---------------------------------------


class _Origin:
    """The interpreter that imported Andon, and the one line to it: a request to fork carries
    the command and its three streams; the answers are the new process's number and, later,
    how each one ended."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # as andon_env gives every command
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.preloaded", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # a fork writes where its command's output goes, no more
            env=env,
            cwd=Path(__file__).resolve().parent.parent,
        )
        theirs.close()
        self._line = ours
        self._lock = threading.Lock()
        self._ended: dict[int, int] = {}

    def fork(self, args: list[str], env: dict[str, str], cwd: Path, fds: list[int]) -> int:
        request = json.dumps({"args": args, "env": env, "cwd": str(cwd)}).encode()
        with self._lock:
            socket.send_fds(self._line, [request], fds)
            while True:
                answer = self._answer(timeout=None)
                if answer is not None and "started" in answer:
                    return int(answer["started"])
                if answer is not None and "refused" in answer:
                    raise OSError(f"the preloaded interpreter could not fork: {answer['refused']}")

    def exit_status(self, pid: int, *, timeout: float | None) -> int | None:
        """How ``pid`` ended, waiting up to ``timeout`` seconds (``None``: as long as it takes)."""
        waited = 0.0
        while True:
            with self._lock:
                while self._answer(timeout=0) is not None:  # what has come already
                    pass
                if pid in self._ended:
                    return self._ended.pop(pid)
                step = _SLICE if timeout is None else min(_SLICE, timeout - waited)
                if step <= 0:
                    return None
                self._answer(timeout=step)
            waited += step

    def _answer(self, *, timeout: float | None) -> dict[str, Any] | None:
        self._line.settimeout(timeout)
        try:
            message = self._line.recv(_MESSAGE)
        except (TimeoutError, BlockingIOError):  # nothing within ``timeout`` (0: nothing yet)
            return None
        if not message:
            raise RuntimeError(f"the preloaded interpreter ended ({self._process.poll()})")
        answer = json.loads(message)
        if "ended" in answer:
            self._ended[int(answer["ended"])] = int(answer["status"])
        return answer

    def close(self) -> None:
        self._line.close()  # it ends when its line does
        self._process.wait(timeout=30)


_FIRST = threading.Lock()  # two threads starting the first command start one interpreter


def _origin() -> _Origin:
    with _FIRST:
        return _started()


@cache
def _started() -> _Origin:
    import atexit

    origin = _Origin()
    atexit.register(origin.close)
    return origin


# --- the preloaded interpreter ------------------------------------------------------------------


def _preload() -> None:
    """Andon's modules, imported as its console script imports them (the collector off)."""
    import importlib

    gc.disable()
    for name in _PRELOAD:
        importlib.import_module(name)
    assert threading.active_count() == 1, "no thread may run in an interpreter that forks"
    gc.freeze()  # what every fork inherits is never walked by its collector
    gc.enable()


def _serve(line: socket.socket) -> list[str] | None:
    """Fork on each request and tell how each fork ended. Returns the arguments in a fork (which
    then runs them), ``None`` when the test process has gone."""
    selector = selectors.DefaultSelector()
    selector.register(line, selectors.EVENT_READ)
    children: dict[int, int] = {}  # pidfd: pid
    while True:
        for key, _ in selector.select():
            if key.fileobj is not line:
                _ended(line, selector, key.fd, children.pop(key.fd))
                continue
            message, fds, _, _ = socket.recv_fds(line, _MESSAGE, 3)
            if not message:
                return None
            request = json.loads(message)
            try:
                pid = os.fork()
            except OSError as error:
                _closed(fds)
                line.send(json.dumps({"refused": str(error)}).encode())
                continue
            if pid == 0:
                selector.close()
                line.close()
                _closed(list(children))
                _become(request, fds)
                return list(request["args"])
            _closed(fds)
            pidfd = os.pidfd_open(pid)
            children[pidfd] = pid
            selector.register(pidfd, selectors.EVENT_READ)
            line.send(json.dumps({"started": pid}).encode())


def _ended(line: socket.socket, selector: selectors.BaseSelector, pidfd: int, pid: int) -> None:
    selector.unregister(pidfd)
    os.close(pidfd)
    _, status = os.waitpid(pid, 0)
    line.send(json.dumps({"ended": pid, "status": os.waitstatus_to_exitcode(status)}).encode())


def _become(request: dict[str, Any], fds: list[int]) -> None:
    """The fork takes the command's streams, place and environment, as exec would give them."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    _closed([fd for fd in fds if fd > 2])
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = [str(Path(__file__).resolve().parent.parent / "bot" / "cli" / "__main__.py")]


def _closed(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


if __name__ == "__main__":
    _preload()
    given = _serve(socket.socket(fileno=int(sys.argv[1])))
    if given is None:
        sys.exit(0)
    sys.argv += given
    from bot.cli import main

    sys.exit(main(given))
