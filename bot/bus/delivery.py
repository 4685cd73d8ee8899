"""A delivery's key — what identifies a request a sender may send again (Slack's ``event_id``
or ``trigger_id``) — recorded in the same unit of work as what the request changes.

Recorded in a transaction of its own, before the request is acted on, a key outlives a process
that dies between the two commits: the sender's retry then finds it and is never acted on. In
the unit that acts, the key and the change land together or not at all; a copy that raced in
while the first was still running finds the key once the first commits, and its unit rolls back
with nothing done (``RepeatError``): the front hears ``Repeat``.
"""

from dataclasses import dataclass

from sqlmodel import Session

from core.clock import Clock
from core.deliveries import first_time

Delivery = tuple[str, str]  # the source and the key (``core.deliveries``)


@dataclass(frozen=True)
class Repeat:
    """The result of a request already handled by another copy of it: not acted on."""


class RepeatError(Exception):
    """Raised in a unit of work whose delivery was already handled: the unit rolls back."""


def remember(session: Session, *, clock: Clock, delivery: Delivery | None) -> None:
    """Mark ``delivery`` handled in the caller's transaction; raise ``RepeatError`` if it was."""
    if delivery is None:
        return
    source, key = delivery
    if not first_time(session, clock=clock, source=source, key=key):
        raise RepeatError(f"{source} {key[:16]}")
