"""A page DM that cannot be delivered does not vanish: the page goes on, and the channel hears.

Slack may refuse a page's DM for good: the person left or was deactivated (``user_not_found``,
``user_disabled``), Slack cannot open a conversation with them, or it refused even the page's
minimal form. Then the next person in the rotation gets the page and the channel hears why.
Someone Slack could not reach is not tried again for that page, so the chain ends — at the
latest when nobody is left, with ``@here`` in the channel, which then already knows.
"""

from datetime import datetime

from sqlmodel import Session, col, select

from core import audit
from core.actor import Actor
from core.alerts import oncall
from core.alerts.escalation import CHANNEL_LEVEL
from core.alerts.notices import NotReached, Paged
from core.alerts.pages import PageStatus, view
from core.audit import Outcome
from core.clock import Clock
from core.config.file import AndonConfig
from core.notifier import Notifier
from storage.tables import Page, PageEvent

ACTION = "page.unreachable"  # the audit log's name for a page the chat could not deliver
PAGING = Actor(id="andon:paging", name="paging", via="chat")
UNREACHABLE = "unreachable"  # the page event: detail is "<user> (<the chat's reason>)"


def not_delivered(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    config: AndonConfig,
    page_id: int,
    user: str,
    reason: str,
) -> str | None:
    """The page's DM to ``user`` could not be delivered: hand the page to the next person who
    can still be tried and tell the channel. Returns who has the page now (None: the channel).

    Told twice about one person (a retried delivery), it acts once.
    """
    page = session.get(Page, page_id)
    if page is None:
        return None
    tried = _unreachable(session, page_id)
    if user in tried:
        return page.oncall
    now = clock.now()
    _event(session, page_id, now, UNREACHABLE, f"{user} ({reason})")
    detail = f"#{page_id} {page.name}: {user} ({reason})"
    if page.status != PageStatus.OPEN.value or page.oncall != user:
        _audit(session, clock, detail, "the page was no longer waiting on them")
        return page.oncall
    following = oncall.following(config.oncall, user, now, skip=tried)
    if following is not None:
        page.oncall, page.level = following, max(page.level, 1)
        paged = Paged(view(session, page, clock=clock, config=config))
        page.dm_id = notifier.dm(following, paged).id
        _event(session, page_id, now, "escalated", f"to {following}")
        said = f"paged {following}"
    else:  # nobody left: the page is the channel's, and repeats to nobody stop
        page.oncall, page.level, page.due_at = None, CHANNEL_LEVEL, None
        page.dm_id = None  # nothing was delivered to update when someone acknowledges
        _event(session, page_id, now, "escalated", "to the channel")
        said = "nobody left to page: told the channel"
    session.add(page)
    shown = view(session, page, clock=clock, config=config)
    notifier.post(NotReached(shown, user, reason, following))
    _audit(session, clock, detail, said)
    return following


def _unreachable(session: Session, page_id: int) -> set[str]:
    """Who Slack could not reach for this page, already."""
    details = session.exec(
        select(PageEvent.detail)
        .where(PageEvent.page_id == page_id, PageEvent.kind == UNREACHABLE)
        .order_by(col(PageEvent.id))
    ).all()
    return {detail.split(" ", 1)[0] for detail in details}


def _event(session: Session, page_id: int, at: datetime, kind: str, detail: str) -> None:
    session.add(PageEvent(page_id=page_id, at=at, kind=kind, actor=PAGING.id, detail=detail))


def _audit(session: Session, clock: Clock, detail: str, message: str) -> None:
    audit.record(
        session,
        clock=clock,
        actor=PAGING,
        action=ACTION,
        outcome=Outcome.OK,
        detail=detail,
        message=message,
    )
