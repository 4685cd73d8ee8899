"""``andon`` on the command line: the server, the shell, and operator commands that obey the Slack
commands' rules. ``main`` is the console script's entry point (``bot.cli:main``).

A git hook runs ``andon gate pre-receive`` at every push, and the pusher waits for its start: that
command goes the short way, importing only what asking Andon needs, never the argparse program
with its settings, config models and commands (four times Python's own start).
"""

import os
import sys
from collections.abc import Sequence

from bot import startup
from bot.settings.sealed import seal

_HOOK = ["gate", "pre-receive"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``andon`` with ``argv`` (default: the command line)."""
    startup.begin()
    args = list(sys.argv[1:] if argv is None else argv)
    if args == _HOOK:
        seal()  # before anything, as every command: the hook's environment holds the API token
        from bot.githooks.pre_receive import pre_receive_command

        return pre_receive_command(sys.stdin, os.environ)
    from bot.cli.command_line import main as program

    return program(args)


__all__ = ["main"]
