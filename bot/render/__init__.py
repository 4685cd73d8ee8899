"""Pure functions from domain objects to chat messages (Block Kit; the terminal reads the same).

Importing the package registers every topic's messages with ``notice``.
"""

from bot.render import (
    actions,
    alert_news,
    alerts,
    ci,
    deploy,
    digest,
    flag_watch,
    flags,
    gate,
    line,
    not_reached,
    paged_while_stopped,
    rewrites,
    storm,
    whys,
)
from bot.render.notice import notice

__all__ = [
    "actions",
    "alert_news",
    "alerts",
    "ci",
    "deploy",
    "digest",
    "flag_watch",
    "flags",
    "gate",
    "line",
    "not_reached",
    "notice",
    "paged_while_stopped",
    "rewrites",
    "storm",
    "whys",
]
