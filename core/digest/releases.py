"""Releases beside deploys: a deploy puts code on the hosts, a release puts a feature in front
of people — a flag turned on or ramped up. Counted on the digest's environments, in SQL."""

from collections.abc import Collection

from sqlmodel import Session, col, func, select

from core.digest.window import Window
from storage.tables import FlagChange


def release_count(session: Session, window: Window, *, environments: Collection[str]) -> int:
    """The week's flag changes that turned a flag on or up (off and down are no release)."""
    query = select(func.count()).where(
        col(FlagChange.to_percentage) > col(FlagChange.from_percentage),
        col(FlagChange.at) >= window.start,
        col(FlagChange.at) < window.end,
    )
    if environments:
        query = query.where(col(FlagChange.environment).in_(environments))
    return int(session.exec(query).one())
