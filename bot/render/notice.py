"""The one entry from an announced domain object to its chat message; each topic registers."""

from functools import singledispatch

from bot.render.kit import Message
from core.notifier import Notice


@singledispatch
def notice(item: Notice) -> Message:
    """The channel message for something ``core`` announced."""
    raise TypeError(f"no message for {type(item).__name__}")
