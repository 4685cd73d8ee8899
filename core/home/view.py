"""What one person's Home tab shows: the line, the deploys of each environment, who is on call,
the open pages, and their own open action items — gathered from core's own views, read only."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, func
from sqlmodel import Session, col, select

from core import line
from core.alerts import oncall, pages
from core.alerts.oncall import Oncall
from core.alerts.pages import PageStatus, PageView
from core.clock import Clock, today
from core.config.file import AndonConfig
from core.deploy import records
from core.deploy.records import DeployView
from core.deploy.state import DeployState
from core.line import LineStatus
from core.whys.analysis import Item, item
from core.whys.item_status import ItemStatus
from storage.tables import ActionItem, Deploy, Page

LISTED = 20  # of each list, at most this many are read; the rest are counted
RECENT_DEPLOYS = 3
_OPEN_PAGES = (PageStatus.OPEN.value, PageStatus.ACKNOWLEDGED.value)
_UNDER_WAY = (
    DeployState.AWAITING_APPROVAL.value,
    DeployState.PENDING.value,
    DeployState.RUNNING.value,
)


@dataclass(frozen=True)
class EnvironmentDeploys:
    """One environment: the deploy under way, if any, and the last few that ended."""

    name: str
    under_way: DeployView | None
    recent: tuple[DeployView, ...]


@dataclass(frozen=True)
class Home:
    viewer: str
    line: LineStatus
    environments: tuple[EnvironmentDeploys, ...]
    oncall: Oncall | None  # None: no [oncall] in andon.toml
    pages: tuple[PageView, ...]  # open and acknowledged, newest first
    open_pages: int
    items: tuple[Item, ...]  # the viewer's own open action items, soonest due first
    open_items: int
    at: datetime
    today: date  # the team's date: an item is late once its due date has passed there


def read(session: Session, *, clock: Clock, config: AndonConfig, viewer: str) -> Home:
    """One person's Home, from the session: nothing is written, so it may run beside writers."""
    open_pages = _open_pages(session)
    return Home(
        viewer=viewer,
        line=line.peek(session, clock=clock),
        environments=tuple(_deploys(session, name) for name in config.environments),
        oncall=_oncall(session, config=config, clock=clock),
        pages=tuple(pages.views(session, open_pages, clock=clock, config=config)),
        open_pages=_count(session, col(Page.status).in_(_OPEN_PAGES)),
        items=tuple(item(row) for row in _items(session, viewer)),
        open_items=_count(session, _mine(viewer)),
        at=clock.now(),
        today=today(clock, config.team_timezone),
    )


def _deploys(session: Session, environment: str) -> EnvironmentDeploys:
    under_way = session.exec(
        select(Deploy.id)
        .where(Deploy.environment == environment, col(Deploy.status).in_(_UNDER_WAY))
        .order_by(col(Deploy.id).desc())
    ).first()
    ended = session.exec(
        select(Deploy.id)
        .where(Deploy.environment == environment, col(Deploy.status).not_in(_UNDER_WAY))
        .order_by(col(Deploy.id).desc())
        .limit(RECENT_DEPLOYS)
    ).all()
    return EnvironmentDeploys(
        name=environment,
        under_way=records.view(session, under_way) if under_way is not None else None,
        recent=tuple(records.view(session, deploy_id) for deploy_id in ended if deploy_id),
    )


def _oncall(session: Session, *, config: AndonConfig, clock: Clock) -> Oncall | None:
    """``/oncall`` without its audit row: who now, until when, who next."""
    if config.oncall is None:
        return None
    at = clock.now()
    shift = oncall.now(session, config.oncall, at)
    following = oncall.scheduled(config.oncall, shift.until if shift else at).user
    return Oncall(shift, following, at)


def _open_pages(session: Session) -> list[Page]:
    return list(
        session.exec(
            select(Page)
            .where(col(Page.status).in_(_OPEN_PAGES))
            .order_by(col(Page.id).desc())
            .limit(LISTED)
        ).all()
    )


def _items(session: Session, viewer: str) -> list[ActionItem]:
    query = (
        select(ActionItem)
        .where(_mine(viewer))
        .order_by(col(ActionItem.due).is_(None), col(ActionItem.due), col(ActionItem.id))
        .limit(LISTED)
    )
    return list(session.exec(query).all())


def _mine(viewer: str) -> ColumnElement[bool]:
    """Items owned by the viewer's Slack id (the Home knows no name to match)."""
    return and_(col(ActionItem.status) == ItemStatus.OPEN.value, col(ActionItem.owner) == viewer)


def _count(session: Session, where: ColumnElement[bool]) -> int:
    return int(session.exec(select(func.count()).where(where)).one())
