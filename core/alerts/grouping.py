"""Which page an alert is one of: the firing alerts of one group share a page, each alert keeps
its own identity inside it, and the page resolves when its last alert does.

A chunk of a delivery is looked up at once (its alerts, then their pages, then its groups) and
what it adds is written at once at its end — the alerts that joined pages, and the pages the
storm caps held — so two thousand alerts cost a few statements, not thousands.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import Session, col, func, select

from core.alerts.event import AlertEvent
from core.alerts.pages import LIVE, PageStatus
from core.alerts.storm import STORM
from storage.tables import Page, PageAlert, PageEvent

FIRING, RESOLVED = "firing", "resolved"


@dataclass
class HeldPage:
    """A page the storm caps held in this chunk: written with the chunk's end, told to nobody
    (the channel hears how many in all)."""

    row: dict[str, Any]  # the page's columns
    why: str  # its ``held`` event
    id: int | None = None
    status: str = PageStatus.HELD.value
    held_for: str = STORM


@dataclass
class NewAlert:
    """An alert that joined a page in this chunk: written with the chunk's end."""

    page: Page | HeldPage
    identity: str
    name: str
    summary: str
    value: str | None
    fired_at: datetime
    status: str = FIRING
    resolved_at: datetime | None = None
    severity: str | None = None


Member = PageAlert | NewAlert
AnyPage = Page | HeldPage


@dataclass
class Known:
    """The chunk's alerts and groups: what the database held (live pages only), and what the
    chunk added."""

    members: dict[str, list[tuple[Member, AnyPage]]] = field(default_factory=dict)
    groups: dict[str, AnyPage] = field(default_factory=dict)
    new_alerts: list[NewAlert] = field(default_factory=list)
    held_pages: list[HeldPage] = field(default_factory=list)


def serialise(session: Session, groups: Iterable[str]) -> None:
    """Two deliveries of one new group at once must not both open a page: on PostgreSQL each
    group is locked for the transaction (SQLite's single writer already serialises), all in one
    statement and in one order everywhere, so deliveries never deadlock."""
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted(set(groups))
    if not keys:
        return
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(g, 0) AS h "
            "FROM unnest(CAST(:groups AS text[])) AS g ORDER BY h) AS sorted"
        ),
        {"groups": keys},
    )


def known(session: Session, events: Iterable[AlertEvent]) -> Known:
    """The live pages the chunk's alerts are already in, and its groups' live pages."""
    events = list(events)
    found = Known()
    identities = sorted({event.identity for event in events})
    if identities:
        # By the alerts' own index first, then their pages: joined in one query, a planner that
        # starts from the pages (thousands held in a storm) takes a hundred times longer.
        alerts = session.exec(
            select(PageAlert).where(col(PageAlert.identity).in_(identities))
        ).all()
        pages = session.exec(
            select(Page).where(
                col(Page.id).in_(sorted({alert.page_id for alert in alerts})),
                col(Page.status).in_(LIVE),
            )
        ).all()
        live = {page.id: page for page in pages}
        for alert in sorted(alerts, key=lambda alert: -alert.page_id):  # newest page first
            if alert.page_id in live:
                found.members.setdefault(alert.identity, []).append((alert, live[alert.page_id]))
    groups = sorted({event.page_group for event in events})
    if groups:
        pages = session.exec(
            select(Page)
            .where(col(Page.identity).in_(groups), col(Page.status).in_(LIVE))
            .order_by(col(Page.id))
        ).all()
        for page in pages:  # the newest live page of a group wins
            found.groups[page.identity] = page
    return found


def join(page: AnyPage, *, event: AlertEvent, now: datetime, into: Known) -> None:
    """The alert becomes one of the page's (and is known as such for the rest of the chunk)."""
    alert = NewAlert(
        page=page,
        identity=event.identity,
        name=event.name[:255],
        summary=event.summary,
        value=event.value[:255] if event.value else None,
        fired_at=now,
        severity=event.severity,
    )
    into.new_alerts.append(alert)
    into.members[event.identity] = [(alert, page)]


def refire(session: Session, alert: Member, event: AlertEvent) -> None:
    """A resolved alert of a page that still lasts fires again: it is one of the firing again."""
    alert.status, alert.resolved_at = FIRING, None
    alert.summary, alert.severity = event.summary, event.severity
    alert.value = event.value[:255] if event.value else alert.value
    if isinstance(alert, PageAlert):
        session.add(alert)


def leave(session: Session, alert: Member, now: datetime) -> None:
    alert.status, alert.resolved_at = RESOLVED, now
    if isinstance(alert, PageAlert):
        session.add(alert)


def write(session: Session, into: Known) -> None:
    """The chunk's held pages and new alerts, in a few statements."""
    if into.held_pages:
        session.connection().execute(insert(Page.__table__), [held.row for held in into.held_pages])
        # Their ids, by group: a group had no live page (else they would have joined it), and
        # its lock (or SQLite's one writer) keeps it so — an INSERT … RETURNING in the order
        # sent is one statement a row on SQLite.
        groups = {held.row["identity"]: held for held in into.held_pages}
        for page_id, group in session.exec(
            select(Page.id, Page.identity).where(
                col(Page.identity).in_(list(groups)), col(Page.status).in_(LIVE)
            )
        ).all():
            groups[group].id = page_id
        session.connection().execute(
            insert(PageEvent.__table__),
            [
                {
                    "page_id": held.id,
                    "at": held.row["opened_at"],
                    "kind": "held",
                    "actor": held.row["source"],
                    "detail": held.why,
                }
                for held in into.held_pages
            ],
        )
    if into.new_alerts:
        session.flush()  # the pages they join have their ids
        session.connection().execute(
            insert(PageAlert.__table__),
            [
                {
                    "page_id": alert.page.id,
                    "identity": alert.identity,
                    "name": alert.name,
                    "summary": alert.summary,
                    "value": alert.value,
                    "status": alert.status,
                    "fired_at": alert.fired_at,
                    "resolved_at": alert.resolved_at,
                    "severity": alert.severity,
                }
                for alert in into.new_alerts
            ],
        )


def emptied(session: Session, pages: Iterable[AnyPage]) -> list[int]:
    """Of these pages (written), the ids of those none of whose alerts fires any more."""
    ids = [page.id for page in pages if page.id is not None]
    if not ids:
        return []
    session.flush()
    firing = dict(
        session.exec(
            select(PageAlert.page_id, func.count())
            .where(col(PageAlert.page_id).in_(ids))
            .where(PageAlert.status == FIRING)
            .group_by(col(PageAlert.page_id))
        ).all()
    )
    return [page_id for page_id in ids if not firing.get(page_id)]
