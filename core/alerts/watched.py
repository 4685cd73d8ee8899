"""A watch's verdict pages like an alert: a deploy or a flag ramp that made a watched metric
worse is a page for the person on call — DMed, acknowledgeable, repeated and climbing until
someone has it — tied to the stoppage the verdict opened, so the line is not stopped twice."""

from sqlmodel import Session

from core.alerts import oncall, telling
from core.alerts.event import AlertStatus
from core.alerts.opening import event
from core.alerts.pages import PageStatus
from core.alerts.telling import Told
from core.clock import Clock
from core.config.file import AndonConfig
from core.notifier import Notifier
from storage.tables import Page, PageAlert

SOURCE = "watch"  # a page's source: Andon's own watch of a deploy or a flag ramp
SEVERITY = "critical"


def page(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    config: AndonConfig,
    metric: str,
    summary: str,
    stoppage_id: int | None,
) -> int:
    """Page the person on call about ``metric`` (the channel, when nobody is): ``summary`` is
    the verdict as the line's stop says it (not retried: ``line_first``). Returns its id."""
    now = clock.now()
    shift = oncall.now(session, config.oncall, now)
    due = None
    if shift is not None and config.oncall is not None:
        due = now + min(config.oncall.repeat, config.oncall.ack_timeout)
    row = Page(
        identity=f"{SOURCE}:name:{metric}"[:300],
        source=SOURCE,
        name=metric[:255],
        summary=summary,
        severity=SEVERITY,
        status=PageStatus.OPEN.value,
        stops_line=True,
        opened_at=now,
        last_fired_at=now,
        oncall=shift.user if shift else None,
        due_at=due,
        stoppage_id=stoppage_id,  # the verdict stopped the line already: this page does not
        fired_at=now,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    session.add(
        PageAlert(
            page_id=row.id,
            identity=f"{SOURCE}:{row.id}",
            name=metric[:255],
            summary=summary,
            status=AlertStatus.FIRING.value,
            fired_at=now,
            severity=SEVERITY,
        )
    )
    event(session, row, now, "paged", SOURCE, f"to {row.oncall or 'the channel'}")
    told = Told(created={row.id})
    telling.tell(session, notifier=notifier, clock=clock, config=config, told=told, line_first=True)
    return row.id
