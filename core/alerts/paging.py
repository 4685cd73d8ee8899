"""Alerts become pages: the person on call is DMed, and every page stops the line.

An alert's identity (source and key) while it fires is one page, however often it is sent
again; its resolution updates that page. Routes may keep the line running; flapping alerts are
held. Acknowledgements, repeats and escalations are in ``core/alerts/escalation.py``.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import text
from sqlmodel import Session, col, func, select

from core import line, oncall
from core.actor import Actor
from core.alerts.event import AlertEvent, AlertStatus
from core.alerts.notices import Held, Paged, PageWithoutStop
from core.alerts.pages import PageStatus, live, view, views
from core.clock import Clock
from core.config import AndonConfig
from core.config_alerts import AlertsConfig
from core.notifier import MessageRef, Notifier
from core.whys import rule as whys_rule
from core.whys import severity
from storage.tables import Deploy, Page, PageEvent


@dataclass(frozen=True)
class AlertsRecorded:
    """What one delivery did: new pages, pages updated (resolutions), held ones, the rest."""

    paged: int = 0
    updated: int = 0
    held: int = 0
    unchanged: int = 0
    page_ids: tuple[int, ...] = field(default=())


@dataclass
class _Tally:
    paged: int = 0
    updated: int = 0
    held: int = 0
    unchanged: int = 0
    pages: list[int] = field(default_factory=list)


def record(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    config: AndonConfig,
    events: Sequence[AlertEvent],
) -> AlertsRecorded:
    """One delivery: its new pages opened first, then the line stopped once for all of them
    (a cause each), then the DMs — the line's lock, which every other delivery and stop waits
    for, is taken as late as it can be."""
    tally = _Tally()
    _serialise(session, {event.identity for event in events})
    suspects = _suspects(session, config, clock.now())
    opened: list[tuple[Page, AlertEvent]] = []
    for event in events:
        if event.status != AlertStatus.FIRING:
            _resolve(
                session, notifier=notifier, clock=clock, config=config, event=event, tally=tally
            )
            continue
        page = _fire(session, clock=clock, config=config, event=event, suspects=suspects)
        if isinstance(page, Page):
            opened.append((page, event))
        elif page == "held":
            _hold(session, notifier=notifier, event=event, alerts=_alerts(config), now=clock.now())
            tally.held += 1
        else:
            tally.unchanged += 1
    _stop_line(session, notifier=notifier, clock=clock, opened=opened)
    _tell(session, notifier=notifier, clock=clock, config=config, pages=[p for p, _ in opened])
    tally.paged += len(opened)
    tally.pages.extend(page.id for page, _ in opened if page.id is not None)
    return AlertsRecorded(
        tally.paged, tally.updated, tally.held, tally.unchanged, tuple(tally.pages)
    )


def _serialise(session: Session, identities: set[str]) -> None:
    """Two deliveries of one new alert at once must not both open a page: on PostgreSQL each
    alert's identity is locked for the transaction (SQLite's single writer already serialises)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for identity in sorted(identities):  # one order everywhere: no deadlock between deliveries
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:identity, 0))"),
            {"identity": identity},
        )


def source_actor(source: str) -> Actor:
    """Monitoring acts on the line like a person does, and is named like one in the audit log."""
    return Actor(id=f"alerts:{source}", name=source, via="alert")


def _fire(
    session: Session, *, clock: Clock, config: AndonConfig, event: AlertEvent, suspects: list[int]
) -> Page | Literal["held", "unchanged"]:
    """The page this firing opens, not yet told to anyone; or why there is none."""
    now = clock.now()
    page = live(session, event.identity)
    if page is not None:  # sent again while it fires: the same page
        page.last_fired_at, page.value = now, event.value or page.value
        session.add(page)
        return "unchanged"
    if _flapping(session, event.identity, _alerts(config), now):
        return "held"
    page = _open(session, clock=clock, config=config, event=event, suspects=suspects)
    _event(session, page, now, "paged", event.source, f"to {page.oncall or 'the channel'}")
    return page


def _stop_line(
    session: Session, *, notifier: Notifier, clock: Clock, opened: Sequence[tuple[Page, AlertEvent]]
) -> None:
    """Every page that stops the line is a cause of the stoppage; the lock is taken once."""
    stopping = [(page, event) for page, event in opened if page.stops_line]
    causes = [
        (source_actor(event.source), f"page: {event.name} — {event.summary}")
        for _, event in stopping
    ]
    joined = line.stop_many(session, notifier=notifier, clock=clock, causes=causes)
    heaviest: dict[int, severity.Severity] = {}  # the analysis takes the worst page's severity
    for (page, event), stoppage_id in zip(stopping, joined, strict=True):
        if stoppage_id is not None:
            page.stoppage_id = stoppage_id
            found = severity.from_alert(event.severity)
            heaviest[stoppage_id] = max(heaviest.get(stoppage_id, found), found, key=_ORDER.index)
    for stoppage_id, worst in heaviest.items():
        whys_rule.from_alert(session, stoppage_id, worst)


def _tell(
    session: Session, *, notifier: Notifier, clock: Clock, config: AndonConfig, pages: list[Page]
) -> None:
    """The person on call gets a DM per page; the channel hears of a page nobody is paged for
    or one that leaves the line running."""
    for page, shown in zip(pages, views(session, pages, clock=clock, config=config), strict=True):
        if page.oncall is not None:
            page.dm_id = notifier.dm(page.oncall, Paged(shown)).id
        if not page.stops_line or page.oncall is None:
            page.channel_id = notifier.post(PageWithoutStop(shown)).id
        session.add(page)


_ORDER = list(severity.Severity)


def _alerts(config: AndonConfig) -> AlertsConfig:
    return config.alerts or AlertsConfig()


def _open(
    session: Session, *, clock: Clock, config: AndonConfig, event: AlertEvent, suspects: list[int]
) -> Page:
    now = clock.now()
    shift = oncall.now(session, config.oncall, now)
    first_due = None
    if config.oncall is not None:
        first_due = now + min(config.oncall.repeat, config.oncall.ack_timeout)
    page = Page(
        identity=event.identity,
        source=event.source,
        name=event.name[:255],
        summary=event.summary,
        severity=event.severity,
        value=event.value[:255] if event.value else None,
        url=event.url,
        labels=dict(event.labels),
        status=PageStatus.OPEN.value,
        stops_line=_stops_line(config, event),
        opened_at=now,
        last_fired_at=now,
        oncall=shift.user if shift else None,
        due_at=first_due if shift else None,
        suspects=list(suspects),
    )
    session.add(page)
    session.flush()
    assert page.id is not None
    return page


def _stops_line(config: AndonConfig, event: AlertEvent) -> bool:
    """The first route whose labels all match decides; without one, every page stops the line."""
    for route in (config.alerts or AlertsConfig()).routes:
        if all(event.labels.get(key) == value for key, value in route.match.items()):
            return route.stop_line
    return True


def _suspects(session: Session, config: AndonConfig, now: datetime) -> list[int]:
    """Deploys that went live within ``watch`` before the alert, newest first."""
    watch = (config.alerts or AlertsConfig()).watch
    found = session.exec(
        select(Deploy.id)
        .where(Deploy.kind == "deploy", Deploy.status == "succeeded")
        .where(col(Deploy.finished_at) >= now - watch)
        .order_by(col(Deploy.finished_at).desc())
    ).all()
    return [deploy_id for deploy_id in found if deploy_id is not None]


def _flapping(session: Session, identity: str, alerts: AlertsConfig, now: datetime) -> bool:
    if alerts.flap_count is None:
        return False
    recent = session.exec(
        select(func.count())
        .select_from(Page)
        .where(Page.identity == identity, col(Page.opened_at) >= now - alerts.flap_window)
    ).one()
    return int(recent) >= alerts.flap_count


def _hold(
    session: Session, *, notifier: Notifier, event: AlertEvent, alerts: AlertsConfig, now: datetime
) -> None:
    page = Page(
        identity=event.identity,
        source=event.source,
        name=event.name[:255],
        summary=event.summary,
        severity=event.severity,
        value=event.value[:255] if event.value else None,
        url=event.url,
        labels=dict(event.labels),
        status=PageStatus.HELD.value,
        stops_line=False,
        opened_at=now,
        last_fired_at=now,
    )
    session.add(page)
    session.flush()
    _event(session, page, now, "held", event.source, "flapping")
    window = col(Page.opened_at) >= now - alerts.flap_window
    mine = select(func.count()).select_from(Page).where(Page.identity == event.identity, window)
    held = session.exec(
        select(func.count())
        .select_from(PageEvent)
        .join(Page, col(Page.id) == col(PageEvent.page_id))
        .where(Page.identity == event.identity, PageEvent.kind == "held", window)
    ).one()
    if int(held) == 1:  # said once, when it starts flapping
        times = int(session.exec(mine).one())
        minutes = int(alerts.flap_window.total_seconds() // 60)
        notifier.post(Held(event.name, times, minutes))


def _resolve(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    config: AndonConfig,
    event: AlertEvent,
    tally: _Tally,
) -> None:
    page = live(session, event.identity)
    if page is None:
        tally.unchanged += 1
        return
    now = clock.now()
    page.status, page.resolved_at, page.due_at = PageStatus.RESOLVED.value, now, None
    page.resolved_by, page.resolved_by_name = source_actor(event.source).id, event.source
    session.add(page)
    _event(session, page, now, "resolved", event.source, "the source resolved it")
    if page.dm_id is not None:
        notifier.update(
            MessageRef(page.dm_id), Paged(view(session, page, clock=clock, config=config))
        )
    tally.updated += 1


def _event(session: Session, page: Page, at: datetime, kind: str, actor: str, detail: str) -> None:
    assert page.id is not None
    session.add(PageEvent(page_id=page.id, at=at, kind=kind, actor=actor, detail=detail))
