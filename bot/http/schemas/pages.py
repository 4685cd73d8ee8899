"""``GET /api/pages``: pages, with every alert of each and everything that happened to it."""

from typing import Any

from pydantic import BaseModel, Field

from bot.http.schemas.times import Moment
from core.alerts.pages import PageStatus
from storage.tables import Page as PageRow
from storage.tables import PageAlert as PageAlertRow
from storage.tables import PageEvent as PageEventRow


class PageEvent(BaseModel):
    """Something that happened to a page — paged, repeated, escalated, acknowledged — and who."""

    at: Moment
    kind: str = Field(examples=["paged"])
    actor: str
    detail: str

    @classmethod
    def of(cls, row: PageEventRow) -> "PageEvent":
        """The API's event for a stored one."""
        return cls(at=row.at, kind=row.kind, actor=row.actor, detail=row.detail)


class PageAlert(BaseModel):
    """One alert of a page, as its sender last told it."""

    identity: str
    name: str
    summary: str
    value: str | None
    severity: str | None
    status: str = Field(description="`firing` or `resolved`")
    fired_at: Moment
    resolved_at: Moment | None

    @classmethod
    def of(cls, row: PageAlertRow) -> "PageAlert":
        """The API's alert for a stored one."""
        return cls(
            identity=row.identity,
            name=row.name,
            summary=row.summary,
            value=row.value,
            severity=row.severity,
            status=row.status,
            fired_at=row.fired_at,
            resolved_at=row.resolved_at,
        )


class Page(BaseModel):
    """One group of alerts paging a person, from its first firing to its last resolution."""

    id: int
    group: str = Field(description="the alert group: `source:group:<key>` or `source:name:<name>`")
    name: str
    source: str
    summary: str
    severity: str | None
    value: str | None
    status: PageStatus
    held_for: str | None = Field(description="`flapping` or `storm` when held")
    stops_line: bool
    oncall: str | None = Field(description="who is paged now")
    level: int = Field(
        description="0 the person on call, 1 the next in the rotation, 2 the channel"
    )
    opened_at: Moment
    fired_at: Moment | None = Field(description="when it fired, as the sender says")
    url: str | None
    facts: dict[str, Any] = Field(description="`origin`, `description`, `links`, `details`")
    acked_at: Moment | None
    acked_by: str | None
    resolved_at: Moment | None
    resolved_by: str | None
    stoppage_id: int | None
    suspects: list[int] = Field(description="recent deploys that may have caused it")
    flag_suspects: list[int] = Field(
        description="flag changes (turned on or up) shortly before it that may have caused it"
    )
    events: list[PageEvent]
    firing: int = Field(description="how many of its alerts fire now")
    alerts: list[PageAlert]

    @classmethod
    def of(cls, page: PageRow, events: list[PageEventRow], alerts: list[PageAlertRow]) -> "Page":
        """The API's page for a stored one, with its events and alerts."""
        return cls(
            id=page.id,
            group=page.identity,
            name=page.name,
            source=page.source,
            summary=page.summary,
            severity=page.severity,
            value=page.value,
            status=page.status,
            held_for=page.held_for,
            stops_line=page.stops_line,
            oncall=page.oncall,
            level=page.level,
            opened_at=page.opened_at,
            fired_at=page.fired_at,
            url=page.url,
            facts=page.facts,
            acked_at=page.acked_at,
            acked_by=page.acked_by,
            resolved_at=page.resolved_at,
            resolved_by=page.resolved_by,
            stoppage_id=page.stoppage_id,
            suspects=page.suspects,
            flag_suspects=page.flag_suspects,
            events=[PageEvent.of(event) for event in events],
            firing=sum(alert.status == "firing" for alert in alerts),
            alerts=[PageAlert.of(alert) for alert in alerts],
        )


class Pages(BaseModel):
    """Pages, newest first."""

    pages: list[Page]
