"""Action items after the analysis: an investment only counts once someone does it.

``/actions`` lists what is open (yours, or everyone's), a Done button closes an item and tells
the stoppage's thread, and owners hear on weekday mornings about items past their due date.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import partial
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from core import audit, words
from core.actor import Actor
from core.audit import Outcome
from core.clock import Clock, today
from core.home import viewers
from core.notifier import MessageRef, Notice, Notifier
from core.refusal import Refusal
from core.whys.analysis import Item, item
from core.whys.item_status import ItemStatus, moving
from storage.ids import fits
from storage.tables import ActionItem, Stoppage

LISTING_ACTION = "actions"  # the audit log's name for each command
DONE_ACTION = "action.done"
MORNING = time(9, 0)
_SLACK_USER = re.compile(r"[UW][A-Z0-9]+")


@dataclass(frozen=True)
class ActionList:
    """``/actions``: open items, soonest due first; ``today`` (the team's date) lets the front
    flag the late ones."""

    items: tuple[Item, ...]
    everyone: bool
    today: date


@dataclass(frozen=True)
class Done:
    item: Item


@dataclass(frozen=True)
class ActionDoneNotice(Notice):
    """Said in the stoppage's thread: the people who chose the investment see it land."""

    item: Item
    by: Actor


@dataclass(frozen=True)
class Overdue(Notice):
    """One DM per owner per morning, with every item of theirs past due."""

    owner: str
    items: tuple[Item, ...]


def listing(
    session: Session, *, clock: Clock, actor: Actor, everyone: bool, timezone: str = "UTC"
) -> ActionList:
    """Open items; "mine" also matches by name, for owners written as ``@maria`` outside Slack."""
    query = select(ActionItem).where(ActionItem.status == ItemStatus.OPEN.value)
    if not everyone:
        query = query.where(
            or_(col(ActionItem.owner) == actor.id, col(ActionItem.owner_name) == actor.name)
        )
    rows = session.exec(
        query.order_by(col(ActionItem.due).is_(None), col(ActionItem.due), col(ActionItem.id))
    ).all()
    audit.record(
        session,
        clock=clock,
        actor=actor,
        action=LISTING_ACTION,
        outcome=Outcome.OK,
        detail="all" if everyone else "mine",
        message=f"{len(rows)} open",
    )
    return ActionList(tuple(item(row) for row in rows), everyone, today(clock, timezone))


def mark_done(
    session: Session, *, notifier: Notifier, clock: Clock, actor: Actor, item_id: int
) -> Done | Refusal:
    """Anyone may close an item (its owner usually does); a second press finds it closed."""
    record = partial(
        audit.record, session, clock=clock, actor=actor, action=DONE_ACTION, detail=f"#{item_id}"
    )
    now = clock.now()
    if not fits(item_id):  # names no row; PostgreSQL would refuse to look
        refusal = _not_open(None, item_id, now)
        record(outcome=Outcome.REFUSED, message=refusal.reason)
        return refusal
    # One conditional update decides who closed it: two presses at once close it once.
    closed = session.execute(
        moving(ItemStatus.DONE, col(ActionItem.id) == item_id).values(done_at=now, done_by=actor.id)
    )
    row = session.get(ActionItem, item_id, populate_existing=True)
    if closed.rowcount != 1 or row is None:
        refusal = _not_open(row, item_id, now)
        record(outcome=Outcome.REFUSED, message=refusal.reason)
        return refusal
    done = item(row)
    stoppage = session.get(Stoppage, row.stoppage_id)
    if stoppage is not None and stoppage.thread_id is not None:
        notifier.reply(MessageRef(stoppage.thread_id), ActionDoneNotice(done, actor))
    viewers.changed(session, clock=clock, users=[actor.id, row.owner or ""])
    record(outcome=Outcome.OK, message=f"stoppage #{row.stoppage_id}, level {row.level}")
    return Done(done)


def _not_open(row: ActionItem | None, item_id: int, now: datetime) -> Refusal:
    if row is None:
        return Refusal(f"There is no action item {item_id}: `/actions all` lists the open ones.")
    if row.status == ItemStatus.NONE:
        return Refusal(
            f"Level {row.level} of stoppage #{row.stoppage_id} invests nothing on purpose "
            f"({row.text}): there is nothing to mark done."
        )
    since = f" since {words.at(row.done_at, now=now)}" if row.done_at else ""
    return Refusal(f"Action item {item_id} ({row.text}) is already done{since}: nothing changed.")


def overdue(session: Session, *, notifier: Notifier, clock: Clock, timezone: str = "UTC") -> int:
    """Weekday mornings, each owner with items past due hears once that day; returns the DMs.

    ``reminded_on`` is claimed per item with a conditional update, so a tick that runs twice, or
    on two replicas, reminds once.
    """
    local = clock.now().astimezone(ZoneInfo(timezone))
    if local.weekday() >= 5 or local.time() < MORNING:
        return 0
    today = local.date()
    late = session.exec(
        select(ActionItem)
        .where(
            ActionItem.status == ItemStatus.OPEN.value,
            col(ActionItem.due) < today,
            col(ActionItem.owner).is_not(None),
            or_(col(ActionItem.reminded_on).is_(None), col(ActionItem.reminded_on) < today),
        )
        .order_by(col(ActionItem.owner), col(ActionItem.due), col(ActionItem.id))
    ).all()
    sent = 0
    for owner, rows in groupby(late, key=lambda row: row.owner or ""):
        if not _SLACK_USER.fullmatch(owner):
            continue  # an owner written as plain text has no DM to go to
        claimed = [item(row) for row in rows if _claim(session, row, today)]
        if claimed:
            notifier.dm(owner, Overdue(owner, tuple(claimed)))
            sent += 1
    return sent


def _claim(session: Session, row: ActionItem, today: date) -> bool:
    seen = col(ActionItem.reminded_on)
    moved = session.execute(
        update(ActionItem)
        .where(
            col(ActionItem.id) == row.id,
            seen.is_(None) if row.reminded_on is None else seen == row.reminded_on,
        )
        .values(reminded_on=today)
    )
    return moved.rowcount == 1


def recorded(
    session: Session, *, status: ItemStatus | None = None, owner: str | None = None
) -> list[ActionItem]:
    """Every item, for the API: filtered by status and by owner (id or name), oldest first."""
    query = select(ActionItem)
    if status is not None:
        query = query.where(ActionItem.status == status.value)
    if owner is not None:
        query = query.where(
            or_(col(ActionItem.owner) == owner, col(ActionItem.owner_name) == owner)
        )
    return list(session.exec(query.order_by(col(ActionItem.id))).all())
