"""What asking Andon can end in, besides its answer, for the hook's two ways of asking.

Two kinds of failure, told apart because ``[gate] fail_open`` may let only the first through.
Both ways (``bot.githooks.gate_ask`` over HTTP, ``bot.githooks.gate_database`` from the
database) raise them, and neither needs the other to.
"""

Answer = tuple[bool, str, bool]  # allow, the message for the pusher, unchecked pushes taken in


class UnreachableError(Exception):
    """Andon could not be reached; the sentence names what failed."""


class UnansweredError(Exception):
    """Andon was reached (or its settings read) but gave no answer the hook can trust."""
