"""A throwaway PostgreSQL cluster on a free loopback port, for the tests of one session."""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import text

from storage.database import Database
from tests.harness import free_port


def server_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresCluster:
    """initdb refuses root: as root the cluster belongs to the ``postgres`` system user."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.root = Path(tempfile.mkdtemp(prefix="andon-pg-"))
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            pwd.getpwnam("postgres")  # raises KeyError where there is no such user
            shutil.chown(self.root, "postgres")
            os.chmod(self.root, 0o700)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self._as, str(self.binaries / tool), *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> "PostgresCluster":
        data = self.root / "data"
        self._run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(data), "-o", options, "-l", str(self.root / "log"), "-w", "start"
        )
        return self

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every open connection is cut, the server comes back."""
        self._run(
            "pg_ctl",
            "-D",
            str(self.root / "data"),
            "-l",
            str(self.root / "log"),
            "-m",
            "fast",
            "-w",
            "restart",
        )

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """A fresh database, or a copy of ``template`` (a database nobody is connected to); its
        URL is what ``ANDON_DATABASE_URL`` takes."""
        import psycopg

        copied = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"{copied}')
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


def waiting_or_done(database: Database, other: threading.Thread) -> None:
    """The other transaction either ended already or waits for a lock a first one holds: the
    moment to commit the first, when a test is about what the second does after it."""
    waiting = text("SELECT count(*) FROM pg_locks WHERE NOT granted")
    deadline = time.monotonic() + 30
    while other.is_alive() and time.monotonic() < deadline:
        with database.engine.connect() as connection:
            if connection.execute(waiting).scalar():
                return
        time.sleep(0.01)
