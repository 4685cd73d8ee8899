"""A page as people see it: what fired — one alert, or the alerts of one group, how many and
which — who is paged, which deploys and flag changes are suspects, what the stopped line costs
while it lasts."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import case
from sqlmodel import Session, col, func, select

from core.actor import Actor
from core.alerts import flag_suspects, senders
from core.alerts.event import Facts
from core.alerts.flag_suspects import FlagSuspect
from core.clock import Clock
from core.config.file import AndonConfig
from core.deploy import records
from core.deploy.records import DeployView
from core.lifecycle import Lifecycle
from core.line import LineNow, LineState, current
from storage.tables import CiResult, Page, PageAlert, PageEvent

SHOWN_ALERTS = 20  # a page's alerts read for a message: the renderer clips with "… and N more"


class PageStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    HELD = "held"  # flapping: recorded, said once, not paged


LIVE = (PageStatus.OPEN.value, PageStatus.ACKNOWLEDGED.value, PageStatus.HELD.value)

# A page is born open or held; its last alert resolving, or a person, resolves it.
LIFECYCLE = Lifecycle(
    {
        PageStatus.OPEN: {PageStatus.ACKNOWLEDGED, PageStatus.RESOLVED},
        PageStatus.ACKNOWLEDGED: {PageStatus.RESOLVED},
        PageStatus.HELD: {PageStatus.OPEN, PageStatus.RESOLVED},  # open: the storm left room
        PageStatus.RESOLVED: (),
    }
)


def move(page: Page, to: PageStatus) -> None:
    """The one way a page's status changes: through the table."""
    page.status = LIFECYCLE.check(PageStatus(page.status), to, what=f"page #{page.id}").value


@dataclass(frozen=True)
class LineCost:
    """What the halt costs while it lasts: how long stopped, how many commits wait."""

    stopped_for: timedelta
    commits_waiting: int


@dataclass(frozen=True)
class AlertShown:
    """One alert of a page, as its message lists it."""

    summary: str
    value: str | None
    firing: bool


@dataclass(frozen=True)
class PageView:
    id: int
    name: str
    summary: str
    severity: str | None
    value: str | None
    url: str | None
    source: str
    sender: str  # who sent it, as people call it: "Alertmanager", "Datadog", "monitoring"
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
    alerts: tuple[AlertShown, ...] = ()  # firing first, at most SHOWN_ALERTS
    firing: int = 1  # how many of its alerts fire now
    resolved: int = 0  # how many have resolved while the page lasts
    fired_at: datetime | None = None  # when it fired, as its sender says
    facts: Facts = field(default_factory=Facts)  # what its sender adds: links, details …
    flags: tuple[FlagSuspect, ...] = ()  # flags turned on or up shortly before, newest first


def view(session: Session, page: Page, *, clock: Clock, config: AndonConfig) -> PageView:
    return views(session, [page], clock=clock, config=config)[0]


def views(
    session: Session,
    pages: Sequence[Page],
    *,
    clock: Clock,
    config: AndonConfig,
    line: LineNow | None = None,
    counted: dict[int, dict[str, int]] | None = None,
) -> list[PageView]:
    """The pages of one delivery share the line's cost and their suspects: each is read once.
    ``line``: the line as the caller read it, or as it will be once the caller has stopped it;
    ``counted``: their alerts' ``counts``, when the caller has them (each read here if not)."""
    if not pages:
        return []
    cost = _cost(session, line or current(session), clock=clock, config=config)
    deploys: dict[int, DeployView] = {}

    def suspect(deploy_id: int) -> DeployView:
        if deploy_id not in deploys:
            deploys[deploy_id] = records.view(session, deploy_id)
        return deploys[deploy_id]

    found = counted if counted is not None else counts(session, [p.id for p in pages if p.id])
    flags = flag_suspects.views(session, (c for page in pages for c in page.flag_suspects))
    return [
        _shown(
            page,
            suspects=_once(suspect(d) for d in page.suspects),
            flags=flag_suspects.once(flags[c] for c in page.flag_suspects if c in flags),
            cost=cost,
            at=clock.now(),
            alerts=_alerts(session, page),
            counts=found.get(page.id or 0, {}),
        )
        for page in pages
    ]


def _once(suspects: Iterable[DeployView]) -> tuple[DeployView, ...]:
    """Each revision on each environment once — a redeploy is one suspect with one *Roll back*
    button: its newest deploy that came from another revision (a redeploy came from itself)."""
    chosen: dict[tuple[str, str], DeployView] = {}
    for deploy in suspects:  # newest first
        key = (deploy.environment, deploy.revision)
        kept = chosen.get(key)
        if kept is None or (kept.previous_revision == kept.revision != deploy.previous_revision):
            chosen[key] = deploy
    return tuple(chosen.values())


def _alerts(session: Session, page: Page) -> tuple[AlertShown, ...]:
    """The first alerts of a page, those firing first: what its message lists."""
    firing_first = case((col(PageAlert.status) == "firing", 0), else_=1)
    rows = session.exec(
        select(PageAlert.summary, PageAlert.value, PageAlert.status)
        .where(PageAlert.page_id == page.id)
        .order_by(firing_first, col(PageAlert.id))
        .limit(SHOWN_ALERTS)
    ).all()
    return tuple(AlertShown(summary, value, status == "firing") for summary, value, status in rows)


def counts(session: Session, page_ids: list[int]) -> dict[int, dict[str, int]]:
    """How many alerts of each page fire and have resolved, in one query for all of them."""
    found: dict[int, dict[str, int]] = {}
    if not page_ids:
        return found
    rows = session.exec(
        select(PageAlert.page_id, PageAlert.status, func.count())
        .where(col(PageAlert.page_id).in_(page_ids))
        .group_by(col(PageAlert.page_id), col(PageAlert.status))
    ).all()
    for page_id, status, count in rows:
        found.setdefault(page_id, {})[status] = int(count)
    return found


def _shown(
    page: Page,
    *,
    suspects: tuple[DeployView, ...],
    flags: tuple[FlagSuspect, ...],
    cost: LineCost | None,
    at: datetime,
    alerts: tuple[AlertShown, ...],
    counts: dict[str, int],
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
        sender=senders.named(page.source, page.sender),
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
        alerts=alerts,
        firing=counts.get("firing", 0),
        resolved=counts.get("resolved", 0),
        fired_at=page.fired_at,
        facts=Facts.read(page.facts),
        flags=flags,
    )


def _cost(session: Session, line: LineNow, *, clock: Clock, config: AndonConfig) -> LineCost | None:
    if line.state != LineState.STOPPED:
        return None
    waiting = session.exec(
        select(func.count(func.distinct(CiResult.revision))).where(
            CiResult.branch == config.line_branch, col(CiResult.received_at) >= line.since
        )
    ).one()
    return LineCost(clock.now() - line.since, int(waiting))


def recent(
    session: Session, limit: int, *, status: PageStatus | None = None
) -> list[tuple[Page, list[PageEvent], list[PageAlert]]]:
    """Pages newest first (of one status, if given: the pages a storm held), each with its
    events in order and every alert it holds."""
    query = select(Page).order_by(col(Page.id).desc()).limit(limit)
    if status is not None:
        query = query.where(Page.status == status.value)
    pages = session.exec(query).all()
    ids = [page.id for page in pages]
    events: dict[int, list[PageEvent]] = {}
    for event in session.exec(
        select(PageEvent).where(col(PageEvent.page_id).in_(ids)).order_by(col(PageEvent.id))
    ).all():
        events.setdefault(event.page_id, []).append(event)
    alerts: dict[int, list[PageAlert]] = {}
    for alert in session.exec(
        select(PageAlert).where(col(PageAlert.page_id).in_(ids)).order_by(col(PageAlert.id))
    ).all():
        alerts.setdefault(alert.page_id, []).append(alert)
    return [(page, events.get(page.id or 0, []), alerts.get(page.id or 0, [])) for page in pages]
