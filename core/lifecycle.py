"""A life as a table of allowed moves: the one way a stored state changes.

Every state Andon stores — a deploy's, a page's, an action item's, an outbox message's — names
its moves in one table; an illegal move raises, because it is a bug in Andon, never a person's
mistake (a person's mistake is refused in words before anything moves).
"""

from collections.abc import Hashable, Iterable, Mapping
from typing import Generic, TypeVar

S = TypeVar("S", bound=Hashable)


class IllegalMoveError(Exception):
    """A state change the table does not allow."""


class Lifecycle(Generic[S]):
    """The states of one thing and, for each, the states it may move to."""

    def __init__(self, moves: Mapping[S, Iterable[S]]) -> None:
        self._moves = {state: frozenset(to) for state, to in moves.items()}

    @property
    def states(self) -> tuple[S, ...]:
        return tuple(self._moves)

    def allows(self, current: S, to: S) -> bool:
        """Whether the table lets ``current`` become ``to``: a refusal asks before it moves."""
        return to in self._moves[current]

    def check(self, current: S, to: S, *, what: str) -> S:
        """``to``, when the move is allowed; raises naming ``what`` moved when it is not."""
        if not self.allows(current, to):
            raise IllegalMoveError(f"{what}: {current} → {to} is not allowed")
        return to

    def sources(self, to: S) -> tuple[S, ...]:
        """The states ``to`` is reached from: the ``WHERE`` of a conditional update, so that
        one statement moves a row only if the table allows it, once however many try."""
        return tuple(state for state, moves in self._moves.items() if to in moves)
