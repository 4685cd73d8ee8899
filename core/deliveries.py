"""Deliveries already handled — Slack request keys, webhook delivery ids — so a retry or a replay
acts once.

A key is kept well past the last moment its request could come back: Slack retries for minutes
and accepts a signed request for five (a replay after that fails its signature), so a day is
plenty; GitHub lets a person redeliver a webhook for days, so a month is. Older keys only make
the table grow.
"""

from datetime import timedelta

from sqlalchemy import delete, not_, or_
from sqlmodel import Session, col, select

from core.clock import Clock
from storage.database import Writes, inserted
from storage.tables import InboundDelivery

SLACK = "slack"  # the source of Slack's event ids; "slack:<kind>" for its other request keys
SLACK_KEPT = timedelta(days=1)
WEBHOOK_KEPT = timedelta(days=30)


def first_time(session: Writes, *, clock: Clock, source: str, key: str) -> bool:
    """Mark the delivery seen in the caller's transaction; False when it was seen before (one
    statement: a key already there is left alone)."""
    row = {"source": source, "key": key[:255], "at": clock.now()}
    return inserted(session, InboundDelivery, row, unless=("source", "key")) is not None


def seen(session: Session, *, source: str, key: str) -> bool:
    """Whether the delivery was already handled, without marking it: a front that acts on it
    later marks it with ``first_time`` in the transaction that acts, so both land together."""
    query = select(InboundDelivery.source).where(
        InboundDelivery.source == source, InboundDelivery.key == key[:255]
    )
    return session.exec(query).first() is not None


def forget_old(session: Session, *, clock: Clock) -> int:
    """Drop the keys no retry, replay or redelivery can still match; how many were dropped."""
    now = clock.now()
    source = col(InboundDelivery.source)
    slack = or_(source == SLACK, source.startswith(f"{SLACK}:"))
    forgotten = 0
    for which, kept in ((slack, SLACK_KEPT), (not_(slack), WEBHOOK_KEPT)):
        old = delete(InboundDelivery).where(which, col(InboundDelivery.at) < now - kept)
        forgotten += session.execute(old).rowcount
    return forgotten
