"""People behind git e-mails: ``[people]`` first, then the chat's own directory of its users."""

from collections.abc import Mapping
from typing import Protocol


class Directory(Protocol):
    """The chat's directory of its users, as ``core`` needs it; ``bot`` implements it for Slack."""

    def user_for(self, email: str) -> str | None:
        """The chat user ID of whoever has ``email``; ``None`` when nobody does or the directory
        cannot tell right now. Never raises: a missing name must not lose a message."""
        ...


def chat_user(
    email: str | None, *, people: Mapping[str, str], directory: Directory | None
) -> str | None:
    """The operator's ``[people]`` map wins (a git e-mail the chat does not know, a shared
    address); everyone else is found in the directory without any configuration."""
    if not email:
        return None
    known = {address.lower(): user for address, user in people.items()}
    found = known.get(email.lower())
    if found is not None or directory is None:
        return found
    return directory.user_for(email)
