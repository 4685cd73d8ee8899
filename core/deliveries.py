"""Deliveries already handled — Slack event ids, webhook delivery ids — so a retry acts once."""

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.clock import Clock
from storage.tables import InboundDelivery


def first_time(session: Session, *, clock: Clock, source: str, key: str) -> bool:
    """Mark the delivery seen in the caller's transaction; False when it was seen before."""
    try:
        with session.begin_nested():
            session.add(InboundDelivery(source=source, key=key[:255], at=clock.now()))
    except IntegrityError:
        return False
    return True
