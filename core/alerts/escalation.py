"""An unacknowledged page does not go quiet: it repeats every ``repeat``, and after each
``ack_timeout`` it climbs — the next person in the rotation, then the channel with ``@here``.

Repeats and escalations are due work stored on the page (``due_at``); the scheduler's tick
claims a due page with one conditional update, so it acts once however many replicas tick.
What one tick does is one round: several pages due at once are said in one message per person
("12 pages unacknowledged"), and the channel hears at most one ``@here`` a round.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from core import audit
from core.actor import Actor
from core.alerts import oncall
from core.alerts.notices import Escalated, Paged, Round, Unacknowledged
from core.alerts.pages import LIFECYCLE, PageStatus, PageView, move, view, views
from core.audit import Outcome
from core.clock import Clock
from core.config.alerts import OncallConfig
from core.config.file import AndonConfig
from core.notifier import MessageRef, Notifier
from core.refusal import Refusal
from storage.ids import fits
from storage.tables import Page, PageEvent

ACK_ACTION = "page.ack"  # the audit log's name for each button
RESOLVE_ACTION = "page.resolve"
TICK_ACTION = "pages.tick"  # the scheduler's round of repeats and handoffs, audited if it fails
CHANNEL_LEVEL = 2
SHOWN = 10  # pages listed by a round's message; the rest are counted


@dataclass(frozen=True)
class Acknowledged:
    page: PageView


@dataclass(frozen=True)
class Resolved:
    page: PageView


def acknowledge(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    config: AndonConfig,
    actor: Actor,
    page_id: int,
) -> Acknowledged | Refusal:
    """The Acknowledge button: someone has it; repeats and escalations stop."""
    page = session.get(Page, page_id) if fits(page_id) else None
    refusal = _refusal(page, page_id, to=PageStatus.ACKNOWLEDGED)
    if refusal is not None or page is None:
        return _refused(session, clock, actor, ACK_ACTION, page_id, refusal)
    now = clock.now()
    move(page, PageStatus.ACKNOWLEDGED)
    page.acked_at, page.due_at = now, None
    page.acked_by, page.acked_by_name = actor.id, actor.name
    session.add(page)
    shown = _announce(session, notifier, clock, config, page, "acknowledged", actor)
    return Acknowledged(shown)


def resolve(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    config: AndonConfig,
    actor: Actor,
    page_id: int,
) -> Resolved | Refusal:
    """The Resolve button: the problem is gone. The line stays stopped — that is the whys' job."""
    page = session.get(Page, page_id) if fits(page_id) else None
    refusal = _refusal(page, page_id, to=PageStatus.RESOLVED)
    if refusal is not None or page is None:
        return _refused(session, clock, actor, RESOLVE_ACTION, page_id, refusal)
    now = clock.now()
    move(page, PageStatus.RESOLVED)
    page.resolved_at, page.due_at = now, None
    page.resolved_by, page.resolved_by_name = actor.id, actor.name
    session.add(page)
    return Resolved(_announce(session, notifier, clock, config, page, "resolved", actor))


def due(session: Session, *, notifier: Notifier, clock: Clock, config: AndonConfig) -> list[int]:
    """Repeat or escalate every page whose time came; returns the pages acted on."""
    if config.oncall is None:
        return []
    now = clock.now()
    acted = []
    rounds: dict[tuple[Round, str | None], list[Page]] = {}
    for page in session.exec(
        select(Page)
        .where(Page.status == PageStatus.OPEN.value, col(Page.due_at) <= now)
        .order_by(col(Page.id))
    ).all():
        if _claim(session, page, config.oncall, now):
            session.refresh(page)
            said = _act(session, clock=clock, config=config, page=page)
            rounds.setdefault(said, []).append(page)
            assert page.id is not None
            acted.append(page.id)
    for (kind, whom), pages in rounds.items():
        _say(
            session,
            notifier=notifier,
            clock=clock,
            config=config,
            kind=kind,
            whom=whom,
            pages=pages,
        )
    return acted


def _say(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    config: AndonConfig,
    kind: Round,
    whom: str | None,
    pages: list[Page],
) -> None:
    """One message per person (and one for the channel) of the round, whatever the count."""
    if kind != Round.CHANNEL and whom is None:
        return  # a repeat with nobody on call: recorded, said to nobody
    if len(pages) == 1:
        shown = view(session, pages[0], clock=clock, config=config)
        match kind:
            case Round.REPEAT:
                notifier.dm(whom or "", Paged(shown, True))
            case Round.NEXT:
                notifier.dm(whom or "", Escalated(shown, False))
            case Round.CHANNEL:
                notifier.post(Escalated(shown, True))
        return
    listed = tuple(views(session, pages[:SHOWN], clock=clock, config=config))
    summary = Unacknowledged(listed, len(pages), kind, tuple(page.id or 0 for page in pages))
    if kind == Round.CHANNEL:
        notifier.post(summary)
    else:
        notifier.dm(whom or "", summary)


def _claim(session: Session, page: Page, config: OncallConfig, now: datetime) -> bool:
    """Move ``due_at`` on only if nobody else did: the one who moves it does the work."""
    claimed = session.execute(
        update(Page)
        .where(col(Page.id) == page.id, col(Page.due_at) == page.due_at)
        .where(col(Page.status) == PageStatus.OPEN.value)
        .values(due_at=_next_due(page, config, now))
    )
    return claimed.rowcount == 1


def _next_due(page: Page, config: OncallConfig, now: datetime) -> datetime:
    repeat = now + config.repeat
    if page.level >= CHANNEL_LEVEL:
        return repeat
    climb = page.opened_at + (page.level + 1) * config.ack_timeout
    if climb <= now:  # this round climbs; the next climb is one ack_timeout later
        climb += config.ack_timeout
    return min(repeat, climb)


def _act(
    session: Session, *, clock: Clock, config: AndonConfig, page: Page
) -> tuple[Round, str | None]:
    """The page's step of the round, recorded; what to say, and to whom, is returned."""
    assert config.oncall is not None
    now = clock.now()
    climbs = page.level < CHANNEL_LEVEL and now >= (
        page.opened_at + (page.level + 1) * config.oncall.ack_timeout
    )
    if not climbs:
        _event(session, page, now, "repeated", "andon", f"to {page.oncall}")
        return Round.REPEAT, page.oncall
    following = oncall.after(config.oncall, page.oncall, now) if page.oncall else None
    if page.level == 0 and following is not None:
        page.level, page.oncall = 1, following
        session.add(page)
        _event(session, page, now, "escalated", "andon", f"to {following}")
        return Round.NEXT, following
    page.level = CHANNEL_LEVEL
    session.add(page)
    _event(session, page, now, "escalated", "andon", "to the channel")
    return Round.CHANNEL, None


def _announce(
    session: Session,
    notifier: Notifier,
    clock: Clock,
    config: AndonConfig,
    page: Page,
    kind: str,
    actor: Actor,
) -> PageView:
    _event(session, page, clock.now(), kind, actor.id, actor.name)
    audit.record(
        session,
        clock=clock,
        actor=actor,
        action=ACK_ACTION if kind == "acknowledged" else RESOLVE_ACTION,
        outcome=Outcome.OK,
        detail=f"#{page.id} {page.name}",
    )
    shown = view(session, page, clock=clock, config=config)
    if page.dm_id is not None:
        notifier.update(MessageRef(page.dm_id), Paged(shown))
    return shown


def _refusal(page: Page | None, page_id: int, *, to: PageStatus) -> Refusal | None:
    if page is None:
        return Refusal(f"There is no page #{page_id}.")
    if LIFECYCLE.allows(PageStatus(page.status), to):
        return None
    by = page.acked_by_name or page.resolved_by_name
    return Refusal(
        f"Page #{page_id} ({page.name}) is already {page.status}" + (f" by {by}." if by else ".")
    )


def _refused(
    session: Session, clock: Clock, actor: Actor, action: str, page_id: int, refusal: Refusal | None
) -> Refusal:
    refusal = refusal or Refusal(f"There is no page #{page_id}.")
    audit.record(
        session,
        clock=clock,
        actor=actor,
        action=action,
        outcome=Outcome.REFUSED,
        detail=f"#{page_id}",
        message=refusal.reason,
    )
    return refusal


def _event(session: Session, page: Page, at: datetime, kind: str, actor: str, detail: str) -> None:
    assert page.id is not None
    session.add(PageEvent(page_id=page.id, at=at, kind=kind, actor=actor, detail=detail))
