"""Rows a process claims for a while (``claimed_by``, ``claimed_until``) before it works on them:
who holds some now, and letting go of those whose holder is known to be gone, so a restarted
Andon goes on at once instead of waiting for the claims to run out."""

from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select


def holders(session: Session, table: Any) -> list[str]:
    """Who holds rows of ``table`` now: a process that died is found among them."""
    held = col(table.claimed_by)
    found = session.exec(select(held).where(held.is_not(None)).distinct()).all()
    return [holder for holder in found if holder is not None]


def let_go(session: Session, table: Any, *, holders: list[str]) -> int:
    """Free the rows of ``table`` held by ``holders`` (processes that are gone); how many."""
    if not holders:
        return 0
    freed = session.execute(
        update(table)
        .where(col(table.claimed_by).in_(holders))
        .values(claimed_until=None, claimed_by=None)
    )
    return freed.rowcount
