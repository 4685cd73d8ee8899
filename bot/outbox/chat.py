"""Where the courier hands messages over: Slack's Web API, or the terminal."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.outbox.message import MessageKind


@dataclass(frozen=True)
class Outgoing:
    """One queued message as the chat needs it; a reply or update knows its parent's place."""

    id: int
    kind: MessageKind  # a file: filename, title, base64 content, [text, blocks]
    target: str  # a channel for posts, replies and updates; a user for DMs
    payload: dict[str, Any]
    parent_channel: str | None = None
    parent_ts: str | None = None
    queued_at: datetime | None = None  # the chat can hold it, if at all, only from then on
    # an earlier attempt may have reached the chat (its answer was lost, or its courier died):
    # the chat looks for it before sending it again
    maybe_sent: bool = False


@dataclass(frozen=True)
class Sent:
    channel: str
    ts: str
    permalink: str | None = None
    found: bool = False  # not sent now: an earlier attempt had, and the chat still holds it


class RetryLaterError(Exception):
    """The chat is busy or down; try again, after ``after`` seconds if it said so.

    ``unheard``: the chat surely did not take the message (it was rate limited), so the next
    attempt need not look for it first."""

    def __init__(self, reason: str, after: float | None = None, *, unheard: bool = False) -> None:
        super().__init__(reason)
        self.after = after
        self.unheard = unheard


# Slack's answers that refuse the message itself, not where it goes: a smaller one may pass.
INVALID = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "invalid_attachments",
        "too_many_attachments",
        "invalid_arguments",
    }
)


class UndeliverableError(Exception):
    """The chat refused the message for good (no such channel, bad token): retrying won't help.

    ``error`` is the chat's own word for it (Slack's ``invalid_blocks``, ``user_not_found``).
    """

    def __init__(self, reason: str, *, error: str | None = None) -> None:
        super().__init__(reason)
        self.error = error

    @property
    def invalid(self) -> bool:
        """The message itself was refused: its minimal form is worth one more try."""
        return self.error in INVALID


class Chat(Protocol):
    def send(self, message: Outgoing) -> Sent: ...
