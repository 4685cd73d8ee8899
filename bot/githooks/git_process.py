"""git run by the hook: stdin empty, its output and its errors read whole, a time limit.

What ``subprocess.run(..., capture_output=True, timeout=...)`` does, on ``os.posix_spawn``: every
push waits for the hook to start, and ``subprocess`` (with ``threading``, ``locale``, ``signal``
and ``warnings``) cost the hook about a tenth of Python's start to import for one ``git log``.
"""

from __future__ import annotations

import os
import select
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: ``typing`` is not imported when the hook runs
    from collections.abc import Mapping


def run(args: list[str], environ: Mapping[str, str], *, timeout: float) -> tuple[int, bytes, bytes]:
    """``git *args``' exit status, output and errors. Raises ``OSError`` when git cannot be
    started and ``TimeoutError`` (git killed) when it has not finished within ``timeout``."""
    env = dict(environ)
    program = _found("git", env)
    out_read, out_write = os.pipe()  # not inherited (PEP 446): only their copies on 1 and 2 are
    err_read, err_write = os.pipe()
    try:
        pid = os.posix_spawn(
            program,
            ["git", *args],
            env,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, out_write, 1),
                (os.POSIX_SPAWN_DUP2, err_write, 2),
            ],
        )
    except OSError:
        os.close(out_read)
        os.close(err_read)
        raise
    finally:
        os.close(out_write)
        os.close(err_write)
    try:
        out, err = _drained(out_read, err_read, deadline=time.monotonic() + timeout)
    except TimeoutError:
        os.kill(pid, 9)  # SIGKILL, as subprocess.run does on its timeout
        os.waitpid(pid, 0)
        raise
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out, err


def _found(name: str, env: Mapping[str, str]) -> str:
    """``name`` on the ``PATH`` of ``env``, as ``subprocess`` looks it up."""
    for folder in os.get_exec_path(env):
        program = os.path.join(folder, name)
        if os.access(program, os.X_OK) and not os.path.isdir(program):
            return program
    raise FileNotFoundError(2, "No such file or directory", name)


def _drained(out: int, err: int, *, deadline: float) -> tuple[bytes, bytes]:
    """Both pipes read to their end (neither can fill up and stall git), then closed."""
    read: dict[int, list[bytes]] = {out: [], err: []}
    poller = select.poll()
    for fd in read:
        poller.register(fd, select.POLLIN)
    open_fds = set(read)
    try:
        while open_fds:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            for fd, _ in poller.poll(left * 1000):
                chunk = os.read(fd, 65536)
                if chunk:
                    read[fd].append(chunk)
                else:
                    poller.unregister(fd)
                    open_fds.discard(fd)
    finally:
        os.close(out)
        os.close(err)
    return b"".join(read[out]), b"".join(read[err])
