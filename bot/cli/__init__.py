"""``andon`` on the command line: the server, the shell, and operator commands that obey the Slack
commands' rules. ``main`` is the console script's entry point (``bot.cli:main``)."""

from bot.cli.command_line import main

__all__ = ["main"]
