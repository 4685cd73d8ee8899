"""The process's environment holds Andon's secrets: sealed, no other process of its user reads it.

Its own module, standing on ``ctypes`` alone, because every command seals before anything else —
the git hook too, whose start every push waits for.
"""

import ctypes
import sys

_PR_GET_DUMPABLE, _PR_SET_DUMPABLE = 3, 4


def seal() -> bool:
    """Make this process non-dumpable, so a child of the same user cannot read its environment
    (``/proc/<pid>/environ`` becomes root's) nor trace it. Linux only: False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def sealed() -> bool:
    """Whether ``seal()`` holds: False where it cannot (not Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return bool(ctypes.CDLL(None, use_errno=True).prctl(_PR_GET_DUMPABLE, 0, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False
