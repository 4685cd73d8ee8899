"""Deliveries already handled — Slack request keys, webhook delivery ids — so a retry or a replay
acts once.

A key is kept well past the last moment its request could come back: Slack retries for minutes
and accepts a signed request for five (a replay after that fails its signature), so a day is
plenty; GitHub lets a person redeliver a webhook for days, so a month is. Older keys only make
the table grow.
"""

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, not_, or_
from sqlmodel import Session, col, select

from core.clock import Clock
from storage.database import insert_for, scrubbed
from storage.tables import InboundDelivery

SLACK = "slack"  # the source of Slack's event ids; "slack:<kind>" for its other request keys
SLACK_KEPT = timedelta(days=1)
WEBHOOK_KEPT = timedelta(days=30)


def first_time(session: Session, *, clock: Clock, source: str, key: str) -> bool:
    """Mark the delivery seen in the caller's transaction; False when it was seen before (one
    statement: a key already there is left alone)."""
    values = scrubbed(session, {"source": source, "key": key[:255]})
    added = _marking(insert_for(session))
    return session.connection().execute(added, {**values, "at": clock.now()}).first() is not None


@functools.cache
def _marking(insert: Callable[[Any], Any]) -> Any:
    """The dialect's statement, built once: every Slack request and webhook runs it, and
    building it (and its cache key) each time cost more than running it."""
    seen = insert(InboundDelivery).on_conflict_do_nothing()
    return seen.returning(InboundDelivery.source)


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
