"""Posting the digest at its weekly moment, exactly once across replicas and restarts.

The tick asks every few seconds; the first to insert the week's ``digest_post`` row posts it,
in the same transaction, so a crash either posts and records or does neither. A moment missed
by less than a day (Andon was down at 09:00) still posts; an older one is left alone rather
than surprising the channel with last month's news.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.config.file import DigestConfig
from core.digest.week import Week
from storage.tables import DigestPost

GRACE = timedelta(days=1)


def moment_before(config: DigestConfig, now: datetime) -> datetime:
    """The latest scheduled moment at or before ``now``, in UTC."""
    zone = ZoneInfo(config.timezone)
    local = now.astimezone(zone)
    back = (local.weekday() - config.when.weekday) % 7
    day = local.date() - timedelta(days=back)
    moment = datetime.combine(day, config.when.at, tzinfo=zone)
    if moment > local:
        moment = datetime.combine(day - timedelta(days=7), config.when.at, tzinfo=zone)
    return moment.astimezone(now.tzinfo)


def due(config: DigestConfig, now: datetime) -> Week | None:
    """The week to post now: the last complete one before the moment, within a day of it."""
    moment = moment_before(config, now)
    if now - moment > GRACE:
        return None
    return Week.containing(moment, config.timezone).previous()


def claim(session: Session, *, week: Week, now: datetime) -> DigestPost | None:
    """The claim is the insert: a second replica, or a restart at the same minute, gets None."""
    if session.get(DigestPost, week.label) is not None:
        return None
    row = DigestPost(week=week.label, posted_at=now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row
