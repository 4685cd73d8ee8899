"""A page as people see it: what fired, who is paged, which deploys are suspects, what the
stopped line costs while it lasts."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session, col, func, select

from core.actor import Actor
from core.clock import Clock
from core.config import AndonConfig
from core.deploy import records
from core.deploy.records import DeployView
from core.line import LineState
from storage.tables import CiResult, Line, Page, PageEvent


class PageStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    HELD = "held"  # flapping: recorded, said once, not paged


LIVE = (PageStatus.OPEN.value, PageStatus.ACKNOWLEDGED.value, PageStatus.HELD.value)


@dataclass(frozen=True)
class LineCost:
    """What the halt costs while it lasts: how long stopped, how many commits wait."""

    stopped_for: timedelta
    commits_waiting: int


@dataclass(frozen=True)
class PageView:
    id: int
    name: str
    summary: str
    severity: str | None
    value: str | None
    url: str | None
    source: str
    status: PageStatus
    opened_at: datetime
    oncall: str | None
    level: int
    acked_by: Actor | None
    resolved_by: Actor | None
    resolved_at: datetime | None
    stops_line: bool
    suspects: tuple[DeployView, ...]
    cost: LineCost | None
    at: datetime


def view(session: Session, page: Page, *, clock: Clock, config: AndonConfig) -> PageView:
    return views(session, [page], clock=clock, config=config)[0]


def views(
    session: Session, pages: Sequence[Page], *, clock: Clock, config: AndonConfig
) -> list[PageView]:
    """The pages of one delivery share the line's cost and their suspects: each is read once,
    while the delivery holds the line's lock."""
    cost = _cost(session, clock=clock, config=config)
    deploys: dict[int, DeployView] = {}

    def suspect(deploy_id: int) -> DeployView:
        if deploy_id not in deploys:
            deploys[deploy_id] = records.view(session, deploy_id)
        return deploys[deploy_id]

    return [
        _shown(page, suspects=tuple(suspect(d) for d in page.suspects), cost=cost, at=clock.now())
        for page in pages
    ]


def _shown(
    page: Page, *, suspects: tuple[DeployView, ...], cost: LineCost | None, at: datetime
) -> PageView:
    assert page.id is not None
    acked = Actor(page.acked_by, page.acked_by_name or "", "slack") if page.acked_by else None
    resolved = None
    if page.resolved_by:
        resolved = Actor(page.resolved_by, page.resolved_by_name or "", "slack")
    return PageView(
        id=page.id,
        name=page.name,
        summary=page.summary,
        severity=page.severity,
        value=page.value,
        url=page.url,
        source=page.source,
        status=PageStatus(page.status),
        opened_at=page.opened_at,
        oncall=page.oncall,
        level=page.level,
        acked_by=acked,
        resolved_by=resolved,
        resolved_at=page.resolved_at,
        stops_line=page.stops_line,
        suspects=suspects,
        cost=cost,
        at=at,
    )


def _cost(session: Session, *, clock: Clock, config: AndonConfig) -> LineCost | None:
    line = session.exec(select(Line).where(Line.id == 1)).one()  # not the stoppage: not needed
    if line.state != LineState.STOPPED:
        return None
    waiting = session.exec(
        select(func.count(func.distinct(CiResult.revision))).where(
            CiResult.branch == config.line_branch, col(CiResult.received_at) >= line.since
        )
    ).one()
    return LineCost(clock.now() - line.since, int(waiting))


def live(session: Session, identity: str) -> Page | None:
    """The page an alert already has while it fires (or is held): repeats are not new pages."""
    return session.exec(
        select(Page)
        .where(Page.identity == identity, col(Page.status).in_(LIVE))
        .order_by(col(Page.id).desc())
    ).first()


def recent(session: Session, limit: int) -> list[tuple[Page, list[PageEvent]]]:
    """Pages newest first, each with its events in order."""
    pages = session.exec(select(Page).order_by(col(Page.id).desc()).limit(limit)).all()
    found = []
    for page in pages:
        events = session.exec(
            select(PageEvent).where(PageEvent.page_id == page.id).order_by(col(PageEvent.id))
        ).all()
        found.append((page, list(events)))
    return found
