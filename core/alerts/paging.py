"""Alerts become pages: the person on call is DMed, and every page stops the line.

The firing alerts of one group — the sender's group, else every alert of one name — are one
page that lists them, updated in place as alerts join and leave, resolved when its last alert
resolves (``core/alerts/grouping.py``). An alert sent again while it fires changes nothing.
Routes may keep the line running; flapping groups are held, and so are new pages past the storm
caps (``core/alerts/opening.py``, ``core/alerts/storm.py``).

A delivery is recorded in chunks, each its own short transaction, so that a storm never holds
the writer for long; a chunk that is retried finds what it recorded the first time and does
nothing twice. A delivery with nothing to say (every alert already on a page that was told) is
one transaction: its audit row rides with its last chunk. Acknowledgements, repeats and
escalations are in ``core/alerts/escalation.py``.
"""

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Protocol

from sqlmodel import Session

from core import audit
from core.alerts import changing, grouping, storm, telling
from core.alerts.event import AlertEvent, AlertStatus
from core.alerts.grouping import FIRING, RESOLVED, HeldPage, Known
from core.alerts.opening import Opener, alerts_config, event
from core.alerts.pages import PageStatus, move
from core.alerts.telling import Told, source_actor
from core.audit import Outcome
from core.clock import Clock
from core.config.file import AndonConfig
from core.line import LineMovedError
from core.notifier import Notifier
from storage.tables import Page

ACTION = "alerts"  # the audit log's name for a monitoring delivery
CHUNK = 250  # alerts per transaction: milliseconds of the writer each, however big the storm


class Units(Protocol):
    """Opens a unit of work; ``urgent``: someone waits for it, so it goes first where writers
    queue (SQLite)."""

    def __call__(
        self, *, urgent: bool = False
    ) -> AbstractContextManager[tuple[Session, Notifier]]: ...


@dataclass(frozen=True)
class AlertsRecorded:
    """What one delivery did: pages opened; alerts that joined, left or resolved a page opened
    before; alerts held (flapping, or over the storm caps); alerts already known as they are."""

    paged: int = 0
    updated: int = 0
    held: int = 0
    unchanged: int = 0
    page_ids: tuple[int, ...] = field(default=())
    storm_held: int = 0  # new pages the storm caps held


@dataclass
class _Tally:
    """The whole delivery, across its chunks."""

    told: Told = field(default_factory=Told)
    paged: int = 0
    updated: int = 0
    held: int = 0
    unchanged: int = 0
    pages: list[int] = field(default_factory=list)
    storm_pages: int = 0
    storm_alerts: int = 0


@dataclass
class _Chunk:
    found: Known
    now: datetime
    touched: dict[int, Page] = field(default_factory=dict)  # pages whose alerts changed
    joined: dict[int, int] = field(default_factory=dict)  # page id → alerts that joined
    left: dict[int, int] = field(default_factory=dict)  # page id → alerts that resolved
    left_held: list[HeldPage] = field(default_factory=list)  # held here, and resolved here


def record(
    *,
    units: Units,
    clock: Clock,
    config: AndonConfig,
    events: Sequence[AlertEvent],
    source: str,
) -> AlertsRecorded:
    """One delivery, chunk by chunk; then what it changed is told in one more short
    transaction, with the held count and the delivery's audit row."""
    tally = _Tally()
    room = storm.Room(alerts_config(config))
    for start in range(0, len(events), CHUNK):
        room.next_chunk()
        with units() as (session, notifier):
            opener = Opener(session, notifier=notifier, clock=clock, config=config, room=room)
            chunk = events[start : start + CHUNK]
            _record(session, opener=opener, clock=clock, events=chunk, tally=tally)
            if start + CHUNK >= len(events) and tally.told.quiet() and not tally.storm_pages:
                _audit(session, clock=clock, source=source, events=events, tally=tally)
                return _recorded(tally)
    tell = partial(_tell, units, clock=clock, config=config, source=source, events=events)
    try:
        tell(tally=tally)
    except LineMovedError:  # started or stopped while the telling was prepared: tell it again
        tell(tally=tally, line_first=True)
    return _recorded(tally)


def _tell(
    units: Units,
    *,
    clock: Clock,
    config: AndonConfig,
    source: str,
    events: Sequence[AlertEvent],
    tally: _Tally,
    line_first: bool = False,
) -> None:
    """The delivery's last, short transaction: what it changed told (the line's lock, if it
    stops the line, taken as late as can be), the storm's held pages counted, its audit row."""
    with units(urgent=bool(tally.told.created)) as (session, notifier):  # someone is paged
        telling.tell(
            session,
            notifier=notifier,
            clock=clock,
            config=config,
            told=tally.told,
            line_first=line_first,
        )
        if tally.storm_pages:
            storm.held(
                session,
                notifier=notifier,
                clock=clock,
                alerts=alerts_config(config),
                pages=tally.storm_pages,
                alerts_held=tally.storm_alerts,
            )
        _audit(session, clock=clock, source=source, events=events, tally=tally)


def _recorded(tally: _Tally) -> AlertsRecorded:
    return AlertsRecorded(
        tally.paged,
        tally.updated,
        tally.held,
        tally.unchanged,
        tuple(tally.pages),
        tally.storm_pages,
    )


def _record(
    session: Session,
    *,
    opener: Opener,
    clock: Clock,
    events: Sequence[AlertEvent],
    tally: _Tally,
) -> None:
    """Every alert of the chunk finds its page, joins one or opens one; a page whose last
    alert resolved is resolved. Nothing is said yet."""
    firing = {alert.page_group for alert in events if alert.status == AlertStatus.FIRING}
    grouping.serialise(session, firing)
    done = _Chunk(grouping.known(session, events), clock.now())
    for alert in events:
        if alert.status == AlertStatus.FIRING:
            _fire(session, opener=opener, alert=alert, done=done, tally=tally)
        else:
            _resolve(session, alert=alert, done=done, tally=tally)
    grouping.write(session, done.found)
    _untold_seen(done, tally)
    for key, page in done.touched.items():
        if key not in tally.told.created:
            said = f"{done.joined.get(key, 0)} joined, {done.left.get(key, 0)} resolved"
            event(session, page, done.now, "alerts", page.source, said)
            tally.told.changed.add(key)
    for page_id in grouping.emptied(session, [*done.touched.values(), *done.left_held]):
        page = session.get(Page, page_id)
        assert page is not None
        move(page, PageStatus.RESOLVED)
        page.resolved_at, page.due_at = done.now, None
        source = source_actor(page.source, page.sender)
        page.resolved_by, page.resolved_by_name = source.id, source.name
        session.add(page)
        event(session, page, done.now, "resolved", page.source, "the source resolved it")


def _untold_seen(done: _Chunk, tally: _Tally) -> None:
    """Pages the chunk saw that nobody has heard of (an earlier delivery failed before it told
    them): the delivery tells them."""
    found = done.found
    pages = [*found.groups.values(), *(page for both in found.members.values() for _, page in both)]
    for page in pages:
        if isinstance(page, Page) and page.id in tally.told.seen and telling.is_untold(page):
            tally.told.untold.add(page.id)


def _fire(
    session: Session, *, opener: Opener, alert: AlertEvent, done: _Chunk, tally: _Tally
) -> None:
    known = done.found.members.get(alert.identity)
    if known:  # sent again while its page lasts
        member, page = known[0]
        if isinstance(page, HeldPage):  # twice in one chunk, held: nothing more to it
            tally.unchanged += 1
            return
        tally.told.seen.add(page.id or 0)
        if member.status == RESOLVED:
            grouping.refire(session, member, alert)
            _changed(done, tally, page, joined=1)
        else:
            _fired_again(session, opener=opener, member=member, page=page, alert=alert, tally=tally)
        page.last_fired_at = done.now
        session.add(page)
        _promote(opener, page=page, alert=alert, tally=tally)
        return
    page = done.found.groups.get(alert.page_group)
    if page is None:
        page = opener.new(alert)
        done.found.groups[alert.page_group] = page
        if isinstance(page, HeldPage):
            done.found.held_pages.append(page)
            tally.storm_pages += 1
        else:
            tally.told.created.add(page.id or 0)
            if page.status == PageStatus.OPEN.value:
                _opened(page, tally)
    elif isinstance(page, Page):
        _promote(opener, page=page, alert=alert, tally=tally)
    grouping.join(page, event=alert, now=done.now, into=done.found)
    if page.status == PageStatus.HELD.value:
        tally.held += 1
        tally.storm_alerts += 1 if page.held_for == storm.STORM else 0
    if isinstance(page, Page):
        tally.told.seen.add(page.id or 0)
        if page.id not in tally.told.created:
            _changed(done, tally, page, joined=1)


def _fired_again(
    session: Session,
    *,
    opener: Opener,
    member: grouping.Member,
    page: Page,
    alert: AlertEvent,
    tally: _Tally,
) -> None:
    """A firing alert sent again: unchanged, or its new severity or summary told."""
    change = changing.fired_again(
        session, member=member, page=page, alert=alert, alerts=opener.alerts, now=opener.now
    )
    if change is None:
        tally.unchanged += 1
        return
    tally.updated += 1
    if page.id not in tally.told.created:
        tally.told.changed.add(page.id or 0)
        tally.told.news.setdefault(page.id or 0, []).append(change)


def _promote(opener: Opener, *, page: Page, alert: AlertEvent, tally: _Tally) -> None:
    """A page the caps held comes again: paged now, if there is room."""
    if opener.promote(page, alert.source):
        tally.told.created.add(page.id or 0)
        _opened(page, tally)


def _opened(page: Page, tally: _Tally) -> None:
    tally.paged += 1
    tally.pages.append(page.id or 0)


def _resolve(session: Session, *, alert: AlertEvent, done: _Chunk, tally: _Tally) -> None:
    firing = [(m, p) for m, p in done.found.members.get(alert.identity, []) if m.status == FIRING]
    for member, page in firing:
        grouping.leave(session, member, done.now)
        if isinstance(page, HeldPage):
            done.left_held.append(page)
            continue
        changing.resolved(session, member=member, page=page, alert=alert)
        tally.told.seen.add(page.id or 0)
        _changed(done, tally, page, left=1, counted=False)
    if firing:
        tally.updated += 1
    else:
        tally.unchanged += 1


def _changed(
    done: _Chunk, tally: _Tally, page: Page, *, joined: int = 0, left: int = 0, counted: bool = True
) -> None:
    """The page's alerts changed: its messages are updated once the delivery is recorded."""
    key = page.id or 0
    done.touched[key] = page
    done.joined[key] = done.joined.get(key, 0) + joined
    done.left[key] = done.left.get(key, 0) + left
    if counted and key not in tally.told.created and page.status != PageStatus.HELD.value:
        tally.updated += 1


def _audit(
    session: Session, *, clock: Clock, source: str, events: Sequence[AlertEvent], tally: _Tally
) -> None:
    said = (
        f"{tally.paged} paged, {tally.updated} updated, {tally.held} held, "
        f"{tally.unchanged} unchanged"
    )
    if tally.storm_pages:
        said += f"; {tally.storm_pages} new page(s) held by the storm limits"
    audit.record(
        session,
        clock=clock,
        actor=source_actor(source),
        action=ACTION,
        outcome=Outcome.OK,
        detail=f"{len(events)} alert(s): " + ", ".join(e.name for e in events[:5]),
        message=said,
    )
