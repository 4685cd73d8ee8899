"""What the five whys bought this week: the compounding interest the digest exists to show."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from core.digest.window import Window, counts_by_window, ranked
from core.whys.item_status import ItemStatus
from storage.tables import ActionItem, Stoppage, Whys

UNCATEGORISED = "uncategorised"
LISTED = 5  # overdue items a digest names; the rest are counted (an export asks for all)


@dataclass(frozen=True)
class OverdueItem:
    id: int
    text: str
    owner: str | None
    owner_name: str | None
    due: date


@dataclass(frozen=True)
class Investments:
    created: int
    completed: int
    declined: int  # levels answered "none: <reason>"
    by_category: tuple[tuple[str, int], ...]
    by_level: tuple[tuple[int, int], ...]
    overdue: tuple[OverdueItem, ...]  # the first, by due date: ``listed`` of them, or all
    whys_done: int
    whys_scheduled: int
    whys_missing: int
    overdue_count: int


def investments(session: Session, window: Window, *, listed: int | None = LISTED) -> Investments:
    """``listed`` overdue items named (``None``: every one, as an export shows them)."""
    created = _created(session, window)
    whys = _whys(session, window)
    overdue = _overdue(session, window, listed)
    return Investments(
        created=sum(n for status, _, _, n in created if status != ItemStatus.NONE),
        completed=_completed(session, window),
        declined=sum(n for status, _, _, n in created if status == ItemStatus.NONE),
        by_category=ranked(_tally(created, key=1)),
        by_level=tuple(sorted((int(k), n) for k, n in _tally(created, key=2).items())),
        overdue=overdue,
        whys_done=whys["done"],
        whys_scheduled=whys["scheduled"],
        whys_missing=whys["missing"],
        overdue_count=len(overdue) if listed is None else _overdue_count(session, window),
    )


def created_counts(session: Session, windows: Sequence[Window]) -> tuple[int, ...]:
    """Real investments only: a reasoned "none" is a decision, not an action."""
    where = [col(ActionItem.status) != ItemStatus.NONE.value]
    return counts_by_window(session, col(ActionItem.created_at), windows, where=where)


def _created(session: Session, window: Window) -> list[tuple[str, str, str, int]]:
    query = (
        select(ActionItem.status, ActionItem.category, ActionItem.level, func.count())
        .where(col(ActionItem.created_at) >= window.start, col(ActionItem.created_at) < window.end)
        .group_by(col(ActionItem.status), col(ActionItem.category), col(ActionItem.level))
    )
    return [
        (status, category or UNCATEGORISED, str(level), int(n))
        for status, category, level, n in session.exec(query)
    ]


def _tally(rows: list[tuple[str, str, str, int]], *, key: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        if row[0] != ItemStatus.NONE:
            counts[row[key]] = counts.get(row[key], 0) + row[3]
    return counts


def _completed(session: Session, window: Window) -> int:
    query = select(func.count()).where(
        col(ActionItem.done_at) >= window.start, col(ActionItem.done_at) < window.end
    )
    return int(session.exec(query).one())


def _overdue(session: Session, window: Window, listed: int | None) -> tuple[OverdueItem, ...]:
    """Items past due at the window's end, as they stood then: done later still counts late."""
    if listed == 0:
        return ()
    query = (
        select(
            ActionItem.id,
            ActionItem.text,
            ActionItem.owner,
            ActionItem.owner_name,
            ActionItem.due,
        )
        .where(*_late(window))
        .order_by(col(ActionItem.due), col(ActionItem.id))
        .limit(listed)
    )
    return tuple(
        OverdueItem(number or 0, text, owner, owner_name, due)
        for number, text, owner, owner_name, due in session.exec(query)
        if due is not None
    )


def _overdue_count(session: Session, window: Window) -> int:
    """Counted where it is stored: a year of open items is thousands of rows to read."""
    return int(session.exec(select(func.count()).where(*_late(window))).one())


def _late(window: Window) -> tuple[ColumnElement[bool], ...]:
    cutoff = window.end
    today = cutoff.astimezone(ZoneInfo(window.week.timezone)).date()
    return (
        col(ActionItem.due) < today,
        col(ActionItem.created_at) < cutoff,
        col(ActionItem.status) != ItemStatus.NONE.value,
        or_(col(ActionItem.done_at).is_(None), col(ActionItem.done_at) >= cutoff),
    )


def _whys(session: Session, window: Window) -> dict[str, int]:
    """Of the week's stoppages: how many five whys were done by its end, scheduled, or neither."""
    query = (
        select(Whys.done_at, Whys.scheduled_at)
        .select_from(Stoppage)
        .join(Whys, col(Whys.stoppage_id) == col(Stoppage.id), isouter=True)
        .where(col(Stoppage.opened_at) >= window.start, col(Stoppage.opened_at) < window.end)
    )
    counts = {"done": 0, "scheduled": 0, "missing": 0}
    for done_at, scheduled_at in session.exec(query):
        if done_at is not None and done_at < window.end:
            counts["done"] += 1
        elif scheduled_at is not None:
            counts["scheduled"] += 1
        else:
            counts["missing"] += 1
    return counts
