"""Who holds a lease — a deploy's lock, a courier's claim on a message — and whether it is dead.

A holder is ``host:pid:random``: a restarted process is told from the one before it, and a
process on this machine that is gone is known dead at once instead of when its lease runs out.
"""

import os
import secrets
import socket


def token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def is_dead(holder: str | None, *, me: str) -> bool:
    """Whether the process named by ``holder`` surely no longer runs (never guesses "dead")."""
    if holder is None:
        return True
    if holder == me:
        return False
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine: only its lease can tell
    pid = int(pid_text)
    if pid == os.getpid():
        return True  # our pid, another token: an earlier life of this process id
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
