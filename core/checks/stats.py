"""Host stats for teams without a metrics agent: one shell command on the host, read from /proc.

Commands only read (``/proc``, ``df``), run through the same ``Transport`` as deploys, so a check
reaches exactly the hosts a deploy does, with the same keys and known_hosts.
"""

import re
import shlex
from collections.abc import Callable

from core.config.hosts import Host
from core.deploy.transport import Transport

_SHOWN_OUTPUT = 160  # characters of a command's output worth quoting: its end says what failed
_DF_LINE = re.compile(r"\s(\d+)\s+(\d+)\s+(\d+)\s+(?:\d+%|-)\s+\S")


def measure(transport: Transport, host: Host, *, stat: str, mount: str, timeout: float) -> float:
    """The stat on one host; ``HostError`` when it cannot be reached, ``ValueError`` when the
    answer is not what the stat expects."""
    command = _command(stat, mount)
    connection = transport.connect(host)
    try:
        done = connection.run(command, cwd="/", timeout=timeout)
    finally:
        connection.close()
    if not done.ok:
        raise ValueError(f"`{command}` exited {done.status}: {_tail(done.output)}")
    return _PARSERS[stat](done.output)


def _command(stat: str, mount: str) -> str:
    if stat == "load":
        return "cat /proc/loadavg && nproc"
    if stat == "disk_used_percent":
        return f"df -P -- {shlex.quote(mount)}"
    if stat == "memory_used_percent":
        return "cat /proc/meminfo"
    raise ValueError(f"{stat!r} is not a host stat")


def _load_per_core(output: str) -> float:
    """The one-minute load average over the cores: 1.0 means every core is busy."""
    lines = output.split("\n")
    try:
        load, cores = float(lines[0].split()[0]), int(lines[1].strip())
    except (IndexError, ValueError):
        raise ValueError(f"not /proc/loadavg and nproc: {_tail(output)}") from None
    if cores < 1:
        raise ValueError(f"nproc said {cores}")
    return load / cores


def _disk_used_percent(output: str) -> float:
    """Used over used plus available, as ``df`` counts its capacity (root's reserve excluded)."""
    lines = output.strip().splitlines()
    match = _DF_LINE.search(lines[-1]) if len(lines) > 1 else None
    if match is None:
        raise ValueError(f"not df -P output: {_tail(output)}")
    used, available = int(match[2]), int(match[3])
    if used + available == 0:
        raise ValueError("the filesystem has no size")
    return 100 * used / (used + available)


def _memory_used_percent(output: str) -> float:
    """Memory the kernel cannot hand out without swapping: MemTotal − MemAvailable."""
    fields = {}
    for line in output.splitlines():
        name, _, rest = line.partition(":")
        amount = rest.split()[:1]
        if amount and amount[0].isdigit():
            fields[name.strip()] = int(amount[0])
    total, available = fields.get("MemTotal"), fields.get("MemAvailable")
    if not total or available is None:
        raise ValueError("/proc/meminfo has no MemTotal and MemAvailable")
    return 100 * (total - available) / total


_PARSERS: dict[str, Callable[[str], float]] = {
    "load": _load_per_core,
    "disk_used_percent": _disk_used_percent,
    "memory_used_percent": _memory_used_percent,
}


def _tail(output: str) -> str:
    text = " ".join(output.split())
    return text if len(text) <= _SHOWN_OUTPUT else "…" + text[-(_SHOWN_OUTPUT - 1) :]
