"""known_hosts, read once for every login until the file changes.

paramiko reads the whole file at each login and, while reading, compares each line with every
line before it: with a fleet's 250 host keys in the file that was 40 ms of CPU per connection
and most of a cold rollback. Here the file is parsed once (again when its size, time or inode
changes, so a key added with ssh-keyscan counts from the next login) and a login is given only
the keys listed for the name it dials — what paramiko would have found, first line first.
"""

import os
import threading
from collections import defaultdict

import paramiko
from paramiko.hostkeys import HostKeyEntry
from paramiko.util import constant_time_bytes_eq

_Stamp = tuple[int, int, int]  # inode, size, mtime in ns
_Line = tuple[int, paramiko.PKey]  # the line's number, its key


def _first(line: _Line) -> int:
    return line[0]


class KnownHosts:
    """The host keys of one known_hosts file, by name."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: _Stamp | None = None
        self._named: dict[str, list[_Line]] = {}
        self._hashed: list[tuple[int, HostKeyEntry]] = []  # ``|1|salt|hash``: matched by hashing

    def give(self, client: paramiko.SSHClient, hostname: str, port: int) -> None:
        """Let ``client`` trust the keys listed for ``hostname:port`` and nothing else; a
        missing file lists none (every host is refused as unknown). ``OSError`` or
        ``SSHException`` when the file cannot be read."""
        name = hostname if port == 22 else f"[{hostname}]:{port}"  # as paramiko looks it up
        known, types = client.get_host_keys(), set[str]()
        for key in self.keys_for(name):
            if key.get_name() not in types:  # the first key of each type wins, as in paramiko
                types.add(key.get_name())
                known.add(name, key.get_name(), key)

    def keys_for(self, name: str) -> list[paramiko.PKey]:
        """The keys listed for ``name``, in the file's order."""
        with self._lock:
            self._read_if_changed()
            hashed = [(n, e.key) for n, e in self._hashed if _matches_hashed(name, e.hostnames)]
            return [key for _, key in sorted([*self._named.get(name, ()), *hashed], key=_first)]

    def _read_if_changed(self) -> None:
        try:
            facts = os.stat(self.path)
        except FileNotFoundError:
            self._stamp, self._named, self._hashed = None, {}, []
            return
        stamp = (facts.st_ino, facts.st_size, facts.st_mtime_ns)
        if stamp != self._stamp:
            self._named, self._hashed = _parse(self.path)
            self._stamp = stamp


def _parse(path: str) -> tuple[dict[str, list[_Line]], list[tuple[int, HostKeyEntry]]]:
    """Every line paramiko would take (comments and lines it cannot read are skipped)."""
    named: dict[str, list[_Line]] = defaultdict(list)
    hashed: list[tuple[int, HostKeyEntry]] = []
    with open(path, encoding="utf-8") as lines:
        for number, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            try:
                entry = HostKeyEntry.from_line(line, number)
            except paramiko.SSHException:
                continue
            if entry is None:
                continue
            for name in entry.hostnames:
                if name.startswith("|1|"):
                    hashed.append((number, HostKeyEntry([name], entry.key)))
                else:
                    named[name].append((number, entry.key))
    return dict(named), hashed


def _matches_hashed(name: str, hostnames: list[str]) -> bool:
    return any(
        constant_time_bytes_eq(paramiko.HostKeys.hash_host(name, hashed), hashed)
        for hashed in hostnames
    )
