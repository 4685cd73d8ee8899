"""A five whys as recorded, and as the thread, the API and the post-mortem show it."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from core import words
from core.actor import Actor
from core.whys.item_status import ItemStatus
from core.whys.phase import LEVELS, Phase
from core.whys.severity import Severity
from storage.database import insert_for, scrubbed
from storage.tables import ActionItem, StoppageCause, WhyAnswer, Whys


@dataclass(frozen=True)
class Answer:
    level: int
    text: str
    by: str
    by_name: str
    at: datetime
    edited_at: datetime | None


@dataclass(frozen=True)
class Item:
    id: int
    stoppage_id: int
    level: int
    text: str
    status: ItemStatus
    owner: str | None
    owner_name: str | None
    due: str | None
    category: str | None


@dataclass(frozen=True)
class Analysis:
    stoppage_id: int
    cause: str
    severity: Severity
    phase: Phase
    answers: tuple[Answer, ...]
    items: tuple[Item, ...]
    scheduled_at: datetime | None
    done_at: datetime | None
    repeat_of: int | None
    cause_by: Actor | None = None  # who named the cause: a Slack user's mentions stay live
    others: tuple[tuple[str, Actor], ...] = ()  # causes that joined after the first, and who

    @property
    def causes(self) -> tuple[tuple[str, Actor], ...]:
        """Every cause known now, the first first: why 1 asks about them all."""
        first = (self.cause, self.cause_by or Actor("andon", "andon", "andon"))
        return (first, *self.others)

    @property
    def done(self) -> bool:
        return self.phase.done

    def question(self, level: int) -> str:
        """Why 1 asks about the cause; every later why about the answer before it."""
        if level == 1:
            named = [f"“{text}”" for text, _by in self.causes]
            listed = ", ".join(named[:-1]) + f" and {named[-1]}" if len(named) > 1 else named[0]
            return f"Why 1: why did {listed} happen?"
        before = next((a.text for a in self.answers if a.level == level - 1), "that")
        return f"Why {level}: why “{before}”?"

    def missing(self) -> str:
        """What the analysis still lacks, in a few words."""
        if self.done:
            return "nothing"
        if (asked := self.phase.asked) is not None:
            whys = f"{asked}–{LEVELS}" if asked < LEVELS else str(LEVELS)
            return f"why {whys} and the investments"
        levels = [str(n) for n in range(1, LEVELS + 1) if n not in {i.level for i in self.items}]
        return f"investments for {'levels' if len(levels) > 1 else 'level'} {words.listed(levels)}"


def whys_of(session: Session, stoppage_id: int, *, lock: bool = False) -> Whys:
    """The stoppage's analysis row, created when first needed — by one statement that leaves a
    row another replica is creating at the same moment alone (then waits for it, then reads it),
    so neither fails on the other's."""
    query = select(Whys).where(Whys.stoppage_id == stoppage_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    found = session.exec(query).first()
    if found is None:
        fresh = scrubbed(session, Whys(stoppage_id=stoppage_id).model_dump())
        session.execute(insert_for(session)(Whys).values(**fresh).on_conflict_do_nothing())
        found = session.exec(query.execution_options(populate_existing=True)).one()
    return found


def analysis(session: Session, stoppage_id: int) -> Analysis:
    """Read-only: a stoppage whose analysis has no row yet reads as one just begun (the API
    reads it in a read-only transaction, beside writers)."""
    query = select(Whys).where(Whys.stoppage_id == stoppage_id)
    row = session.exec(query).first() or Whys(stoppage_id=stoppage_id)
    causes = session.exec(
        select(StoppageCause)
        .where(StoppageCause.stoppage_id == stoppage_id)
        .order_by(col(StoppageCause.id))
    ).all()
    first = causes[0] if causes else None
    answers = session.exec(
        select(WhyAnswer).where(WhyAnswer.stoppage_id == stoppage_id).order_by(col(WhyAnswer.level))
    ).all()
    return Analysis(
        stoppage_id=stoppage_id,
        cause=first.text if first else "the line stopped",
        severity=Severity(row.severity),
        phase=Phase.of(row),
        answers=tuple(Answer(a.level, a.text, a.by, a.by_name, a.at, a.edited_at) for a in answers),
        items=tuple(item(i) for i in items_of(session, stoppage_id)),
        scheduled_at=row.scheduled_at,
        done_at=row.done_at,
        repeat_of=row.repeat_of,
        cause_by=Actor(first.actor, first.actor_name, first.via) if first else None,
        others=tuple((c.text, Actor(c.actor, c.actor_name, c.via)) for c in causes[1:]),
    )


def items_of(session: Session, stoppage_id: int) -> list[ActionItem]:
    return list(
        session.exec(
            select(ActionItem)
            .where(ActionItem.stoppage_id == stoppage_id)
            .order_by(col(ActionItem.level))
        ).all()
    )


def item(row: ActionItem) -> Item:
    assert row.id is not None
    return Item(
        id=row.id,
        stoppage_id=row.stoppage_id,
        level=row.level,
        text=row.text,
        status=ItemStatus(row.status),
        owner=row.owner,
        owner_name=row.owner_name,
        due=row.due.isoformat() if row.due else None,
        category=row.category,
    )
