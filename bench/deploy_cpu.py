"""CPU seconds of a redeploy on both ends: this process (or rsync's, as children) and the
host's sshd with every session and command it ran — steady under load, where wall time is not.
"""

import os
import resource
import time
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stats() -> dict[int, tuple[int, list[str]]]:
    """Every process: its parent and its stat fields after the command name."""
    found: dict[int, tuple[int, list[str]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            found[int(entry.name)] = (int(fields[1]), fields)
    return found


def tree_cpu(pid: int) -> float:
    """``pid`` and its live descendants: their own CPU and that of the children they reaped
    (utime, stime, cutime, cstime), so a session that ended still counts in its parent."""
    stats = _stats()
    children: dict[int, list[int]] = {}
    for child, (parent, _) in stats.items():
        children.setdefault(parent, []).append(child)
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        if current in stats:
            fields = stats[current][1]
            total += sum(int(value) for value in fields[11:15])
        pending.extend(children.get(current, []))
    return total / _TICK


def settled_tree_cpu(pid: int, *, sessions: int) -> float:
    """``tree_cpu`` once the sshd is back to ``sessions`` session processes (up to 2 s): a
    connection that just closed is reaped, its CPU counted once."""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and sessions_of(pid) > sessions:
        time.sleep(0.01)
    return tree_cpu(pid)


def sessions_of(pid: int) -> int:
    """The sshd's open connections: one process each."""
    return sum(1 for parent, _ in _stats().values() if parent == pid)


def own_cpu() -> float:
    """This process, every thread: Andon's side of a stage (paramiko included)."""
    return time.process_time()


def children_cpu() -> float:
    """Waited-for children (rsync and its ssh): the baseline's side."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
