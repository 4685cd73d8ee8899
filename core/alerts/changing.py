"""A firing alert sent again, changed — a warning become critical, a check's new output: the
alert and its page take what the sender says now, the routes are asked again, and the person
paged is told (``core/alerts/telling.py``). A resolution's own words replace the firing ones,
so a resolved page says how it ended."""

from datetime import datetime

from sqlmodel import Session

from core.alerts.event import AlertEvent
from core.alerts.grouping import Member
from core.alerts.notices import Change
from core.alerts.opening import event, stops_line
from core.alerts.pages import PageStatus
from core.config.alerts import AlertsConfig
from storage.tables import Page, PageAlert

LONGEST_VALUE = 255


def fired_again(
    session: Session,
    *,
    member: Member,
    page: Page,
    alert: AlertEvent,
    alerts: AlertsConfig,
    now: datetime,
) -> Change | None:
    """The alert as sent now, when its severity or summary changed; None when it did not (a
    re-send, or a new reading of the same problem, changes nothing)."""
    if alert.severity == member.severity and alert.summary == member.summary:
        return None
    change = Change(alert.name, member.severity, alert.severity, member.summary, alert.summary)
    head = page.summary == member.summary  # the alert the page is named and summed up by
    member.severity, member.summary = alert.severity, alert.summary
    member.value = alert.value[:LONGEST_VALUE] if alert.value else member.value
    if isinstance(member, PageAlert):
        session.add(member)
    if head:
        page.summary, page.severity, page.labels = alert.summary, alert.severity, dict(alert.labels)
        page.value = member.value
    held = page.status == PageStatus.HELD.value
    if not held:  # a route asked again may stop the line now; a page that stopped it, has
        stops = stops_line(alerts, alert)
        page.stops_line = stops or page.stoppage_id is not None or (page.stops_line and not head)
    session.add(page)
    said = f"{change.severity_was or '-'} → {change.severity or '-'}: {alert.summary[:200]}"
    event(session, page, now, "changed", alert.source, said)
    return None if held else change


def resolved(session: Session, *, member: Member, page: Page, alert: AlertEvent) -> None:
    """What the resolution says (the recovered value, "HTTP OK") replaces what fired."""
    if not alert.summary:
        return
    head = page.summary == member.summary
    member.summary = alert.summary
    member.value = alert.value[:LONGEST_VALUE] if alert.value else None  # not the firing one
    if isinstance(member, PageAlert):
        session.add(member)
    if head:
        page.summary, page.value = member.summary, member.value
        session.add(page)
