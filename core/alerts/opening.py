"""A group's first firing alert opens its page — or holds it, when the group flaps or the storm
caps are reached; a page the caps held is paged when its alerts come again and there is room."""

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from core.alerts import flag_suspects, oncall
from core.alerts.event import AlertEvent
from core.alerts.grouping import HeldPage
from core.alerts.notices import Held
from core.alerts.pages import PageStatus, move
from core.alerts.storm import PAGED, STORM, Room
from core.clock import Clock
from core.config.alerts import AlertsConfig
from core.config.file import AndonConfig
from core.deploy.state import DeployKind
from core.notifier import Notifier
from storage.tables import Deploy, Page, PageEvent

FLAPPING = "flapping"
INFO = "info"


def alerts_config(config: AndonConfig) -> AlertsConfig:
    return config.alerts or AlertsConfig()


def event(session: Session, page: Page, at: datetime, kind: str, actor: str, detail: str) -> None:
    """One line of what happened to a page, and who did it."""
    assert page.id is not None
    session.add(PageEvent(page_id=page.id, at=at, kind=kind, actor=actor, detail=detail))


class Opener:
    """Opens the new pages of one chunk; the deploys and flag changes they suspect are read
    once, when the first page needs them."""

    def __init__(
        self,
        session: Session,
        *,
        notifier: Notifier,
        clock: Clock,
        config: AndonConfig,
        room: Room,
    ) -> None:
        self._session, self._notifier, self._clock = session, notifier, clock
        self._config, self._alerts, self._room = config, alerts_config(config), room
        self._suspects: list[int] | None = None
        self._flags: list[int] | None = None
        self._on_call: tuple[oncall.Shift | None] | None = None

    @property
    def alerts(self) -> AlertsConfig:
        return self._alerts

    @property
    def now(self) -> datetime:
        return self._clock.now()

    def new(self, alert: AlertEvent) -> Page | HeldPage:
        """The page of a group that has none live: open, or held (flapping, or over the caps)."""
        now = self._clock.now()
        group = alert.page_group
        if _flapping(self._session, group, self._alerts, now):
            page = self._page(alert, status=PageStatus.HELD, held_for=FLAPPING)
            event(self._session, page, now, "held", alert.source, FLAPPING)
            self._said_flapping(alert, group, now)
            return page
        # What the page is paged with is read (once a chunk) before the storm's lock, which
        # every new page of every delivery waits for until its chunk commits
        self._deploys(now)
        self._flag_changes(now)
        paged = self._paging(self._shift(now), now)
        cap = self._room.take(self._session, now)
        if cap is not None:  # written with the chunk's end: a storm holds thousands
            return HeldPage(row=self._held(alert, now), why=self._room.why(cap))
        page = self._page(alert, status=PageStatus.OPEN, held_for=None, paged=paged)
        event(self._session, page, now, PAGED, alert.source, f"to {page.oncall or 'the channel'}")
        return page

    def promote(self, page: Page, source: str) -> bool:
        """A page the caps held, sent again: paged now if there is room."""
        if page.status != PageStatus.HELD.value or page.held_for != STORM:
            return False
        now = self._clock.now()
        if self._room.take(self._session, now) is not None:
            return False
        move(page, PageStatus.OPEN)
        page.held_for = None
        page.suspects, page.flag_suspects = self._deploys(now), self._flag_changes(now)
        self._paged(page, source, now)
        return True

    def _paged(self, page: Page, source: str, now: datetime) -> None:
        page.oncall, page.due_at = self._paging(self._shift(now), now)
        self._session.add(page)
        event(self._session, page, now, PAGED, source, f"to {page.oncall or 'the channel'}")

    def _paging(
        self, shift: oncall.Shift | None, now: datetime
    ) -> tuple[str | None, datetime | None]:
        """Who is paged, and when the first repeat or climb is due."""
        if shift is None or self._config.oncall is None:
            return None, None
        return shift.user, now + min(self._config.oncall.repeat, self._config.oncall.ack_timeout)

    def _shift(self, now: datetime) -> oncall.Shift | None:
        """Who is on call, read once a chunk (a chunk is one transaction, milliseconds long)."""
        if self._on_call is None:
            self._on_call = (oncall.now(self._session, self._config.oncall, now),)
        return self._on_call[0]

    def _page(
        self,
        alert: AlertEvent,
        *,
        status: PageStatus,
        held_for: str | None,
        paged: tuple[str | None, datetime | None] = (None, None),
    ) -> Page:
        now = self._clock.now()
        page = Page(
            oncall=paged[0],
            due_at=paged[1],
            identity=alert.page_group,
            source=alert.source,
            sender=alert.sender,
            name=alert.name[:255],
            summary=alert.summary,
            severity=alert.severity,
            value=alert.value[:255] if alert.value else None,
            url=alert.url,
            labels=dict(alert.labels),
            status=status.value,
            held_for=held_for,
            stops_line=held_for != FLAPPING and stops_line(self._alerts, alert),
            opened_at=now,
            last_fired_at=now,
            suspects=self._deploys(now) if status == PageStatus.OPEN else [],
            flag_suspects=self._flag_changes(now) if status == PageStatus.OPEN else [],
            fired_at=alert.started_at,
            facts=alert.facts.stored(),
        )
        self._session.add(page)
        self._session.flush()
        assert page.id is not None
        return page

    def _held(self, alert: AlertEvent, now: datetime) -> dict[str, Any]:
        """A page the caps held, as its row: every column, since it is inserted in bulk."""
        return {
            "identity": alert.page_group,
            "source": alert.source,
            "sender": alert.sender,
            "name": alert.name[:255],
            "summary": alert.summary,
            "severity": alert.severity,
            "value": alert.value[:255] if alert.value else None,
            "url": alert.url,
            "labels": dict(alert.labels),
            "status": PageStatus.HELD.value,
            "held_for": STORM,
            "stops_line": stops_line(self._alerts, alert),
            "opened_at": now,
            "last_fired_at": now,
            "fired": 1,
            "oncall": None,
            "level": 0,
            "due_at": None,
            "acked_at": None,
            "acked_by": None,
            "acked_by_name": None,
            "resolved_at": None,
            "resolved_by": None,
            "resolved_by_name": None,
            "dm_id": None,
            "channel_id": None,
            "stoppage_id": None,
            "suspects": [],
            "flag_suspects": [],
            "fired_at": alert.started_at,
            "facts": alert.facts.stored(),
        }

    def _deploys(self, now: datetime) -> list[int]:
        """Deploys that went live within ``watch`` before the alert, newest first."""
        if self._suspects is None:
            found = self._session.exec(
                select(Deploy.id)
                .where(Deploy.kind == DeployKind.DEPLOY, Deploy.status == "succeeded")
                .where(col(Deploy.finished_at) >= now - self._alerts.watch)
                .order_by(col(Deploy.finished_at).desc())
            ).all()
            self._suspects = [deploy_id for deploy_id in found if deploy_id is not None]
        return list(self._suspects)

    def _flag_changes(self, now: datetime) -> list[int]:
        """Flags turned on or up within ``watch`` before the alert, newest first."""
        if self._flags is None:
            self._flags = flag_suspects.found(self._session, now=now, watch=self._alerts.watch)
        return list(self._flags)

    def _said_flapping(self, alert: AlertEvent, group: str, now: datetime) -> None:
        """Said once, when the group starts flapping."""
        window = col(Page.opened_at) >= now - self._alerts.flap_window
        held = self._session.exec(
            select(func.count())
            .select_from(PageEvent)
            .join(Page, col(Page.id) == col(PageEvent.page_id))
            .where(Page.identity == group, PageEvent.kind == "held", window)
            .where(PageEvent.detail == FLAPPING)
        ).one()
        if int(held) == 1:
            mine = select(func.count()).select_from(Page).where(Page.identity == group, window)
            times = int(self._session.exec(mine).one())
            minutes = int(self._alerts.flap_window.total_seconds() // 60)
            self._notifier.post(Held(alert.name, times, minutes))


def stops_line(alerts: AlertsConfig, alert: AlertEvent) -> bool:
    """The first route whose labels all match decides; without one, every page stops the line
    but an ``info`` one (unless ``stop_line_on_info``): information is no reason to halt."""
    for route in alerts.routes:
        if all(alert.labels.get(key) == value for key, value in route.match.items()):
            return route.stop_line
    if (alert.severity or "").lower() == INFO:
        return alerts.stop_line_on_info
    return True


def _flapping(session: Session, group: str, alerts: AlertsConfig, now: datetime) -> bool:
    if alerts.flap_count is None:
        return False
    recent = session.exec(
        select(func.count())
        .select_from(Page)
        .where(Page.identity == group, col(Page.opened_at) >= now - alerts.flap_window)
    ).one()
    return int(recent) >= alerts.flap_count
