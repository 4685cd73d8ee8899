"""Atomicity in ``deploy.py``: a thread reads ``current/REVISION`` in a tight loop while the flips
run over SFTP — Andon's rename, and a control that unlinks first.
"""

import os
import threading
import time
from pathlib import Path
from typing import Any

from common import progress
from deploy_figures import Flips
from deploy_hosts import point_locally

from bot.hosts.ssh import SshTransport
from core.config.hosts import Host
from core.deploy import releases
from tests.ssh_hosts import SshFleet

say = progress("deploy")


def read_loop(path: str, expected: set[bytes], stop: threading.Event, out: dict[str, Any]) -> None:
    target = f"{path}/current/REVISION"
    reads = failures = 0
    first = ""
    while not stop.is_set():
        reads += 1
        try:
            with open(target, "rb") as file:
                data = file.read()
        except OSError as error:
            failures += 1
            first = first or f"{type(error).__name__}: {error.strerror}"
            continue
        if data not in expected:
            failures += 1
            first = first or f"read {data[:40]!r}"
    out.update(reads=reads, failures=failures, first=first)


def bench_atomicity(fleet: SshFleet, count: int) -> list[Flips]:
    host = fleet.hosts[0]
    path = f"{host.path}/atomic"
    revisions = ("a" * 40, "b" * 40)
    for revision in revisions:
        os.makedirs(f"{path}/releases/{revision}")
        Path(f"{path}/releases/{revision}/REVISION").write_text(f"{revision}\n")
    point_locally([path], revisions[0])
    expected = {f"{r}\n".encode() for r in revisions}
    transport = SshTransport(str(fleet.key_path), str(fleet.known_hosts_path))
    ssh_host = Host(host="127.0.0.1", user=host.user, port=host.port)
    found = []
    try:
        connection = transport.connect(ssh_host)
        sftp = connection.client.open_sftp()  # type: ignore[attr-defined]
        try:

            def by_rename(revision: str) -> None:
                releases.activate(connection, path, revision)

            def by_unlink(revision: str) -> None:  # the control: a window with no current
                connection.remove_files(path, ["current"])
                sftp.symlink(f"releases/{revision}", f"{path}/current")  # OpenSSH's order

            for way, flip in (("rename", by_rename), ("unlink", by_unlink)):
                say(f"atomicity: {count} flips by {way} under a reading thread")
                stop, out = threading.Event(), {}
                reader = threading.Thread(target=read_loop, args=(path, expected, stop, out))
                reader.start()
                started = time.perf_counter()
                try:
                    for i in range(count):
                        flip(revisions[(i + 1) % 2])
                finally:
                    took = time.perf_counter() - started
                    stop.set()
                    reader.join()
                found.append(Flips(way, count, took, out["reads"], out["failures"], out["first"]))
                point_locally([path], revisions[0])
        finally:
            connection.close()
    finally:
        transport.close()
    return found
