"""Pushes that passed unchecked while Andon could not be reached, told once they reach it.

``[gate] fail_open`` trades safety for availability; the trade is only fair if people hear of
every push that took it. The hook keeps each one in the repository and sends them along with the
next push that reaches Andon; the channel hears of them in one message, each push once however
often a hook sends it again.
"""

from dataclasses import dataclass

from sqlmodel import Session

from core import audit, deliveries
from core.actor import Actor
from core.audit import Outcome
from core.clock import Clock
from core.gate.push import UncheckedPush
from core.notifier import Notice, Notifier

SOURCE = "gate:unchecked"  # their ids, in the deliveries seen: each is told once


@dataclass(frozen=True)
class PushesUnchecked(Notice):
    """Pushes that landed without the commit check, told in the line channel."""

    pushes: tuple[UncheckedPush, ...]


def announce(
    session: Session, *, notifier: Notifier, clock: Clock, pushes: tuple[UncheckedPush, ...]
) -> int:
    """Tell the channel of the pushes not told before; how many were new."""
    new = tuple(
        push
        for push in pushes
        if deliveries.first_time(session, clock=clock, source=SOURCE, key=push.id)
    )
    if not new:
        return 0
    notifier.post(PushesUnchecked(new))
    for push in new:
        audit.record(
            session,
            clock=clock,
            actor=Actor(push.pusher, push.pusher, "git"),
            action="gate.unchecked",
            outcome=Outcome.OK,
            detail=" ".join(f"{u.ref} {u.old[:7]}..{u.new[:7]}" for u in push.refs)[:500],
            message=f"let through unchecked at {push.at.isoformat()}: {push.reason}"[:1000],
        )
    return len(new)
