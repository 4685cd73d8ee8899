"""The port through which ``core`` tells people what happened; ``bot`` implements it per chat."""

from dataclasses import dataclass
from typing import Protocol


class Notice:
    """Base of everything ``core`` announces; the fronts render each kind their own way."""


@dataclass(frozen=True)
class MessageRef:
    """A handle on a message ``core`` sent, good for replies and updates before it is delivered."""

    id: int


class Notifier(Protocol):
    def post(self, notice: Notice) -> MessageRef:
        """Post to the line channel."""
        ...

    def reply(self, thread: MessageRef, notice: Notice) -> MessageRef:
        """Reply in the thread under an earlier message."""
        ...

    def dm(self, user: str, notice: Notice) -> MessageRef:
        """Write to one person directly."""
        ...

    def update(self, message: MessageRef, notice: Notice) -> None:
        """Replace an earlier message in place."""
        ...

    def upload(
        self,
        *,
        filename: str,
        content: bytes,
        title: str,
        thread: MessageRef | None = None,
    ) -> MessageRef:
        """Share a file (the digest's chart) in the channel, or in a thread after its parent.

        ``core`` passes bytes a front rendered for it; it never draws anything itself. A file can
        be a thread's reply but not its root, and it is never updated.
        """
        ...
