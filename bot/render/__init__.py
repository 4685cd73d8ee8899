"""Pure functions from domain objects to chat messages (Block Kit; the terminal reads the same).

Importing the package registers every topic's messages with ``notice``.
"""

from bot.render import alerts, ci, deploy, gate, line
from bot.render.notice import notice

__all__ = ["alerts", "ci", "deploy", "gate", "line", "notice"]
