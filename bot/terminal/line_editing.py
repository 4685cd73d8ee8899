"""Typing at ``andon>`` as at any shell: arrows move and recall, Ctrl-R searches, and what was
typed is kept across sessions in ``~/.andon_history`` — GNU readline, where Python has it."""

import atexit
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from types import ModuleType

KEPT = 1_000  # lines of history kept


def reader(prompt: str = "andon> ") -> Callable[[], str]:
    """A function that reads one line as ``readline()`` does — with its newline, and "" at the
    end of input (Ctrl-D) — edited with readline when it is available."""
    try:
        import readline
    except ImportError:  # a Python built without readline: plain input still works
        pass
    else:
        _keep_history(readline)

    def read() -> str:
        try:
            return input(prompt) + "\n"
        except EOFError:
            print()
            return ""

    return read


def _keep_history(readline: ModuleType) -> None:
    history = Path("~/.andon_history").expanduser()
    with suppress(OSError):  # no history yet, or unreadable: start afresh
        readline.read_history_file(history)
    readline.set_history_length(KEPT)

    def save() -> None:
        with suppress(OSError):  # a read-only home: the history is this session's only
            readline.write_history_file(history)

    atexit.register(save)
