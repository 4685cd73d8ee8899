"""``/api/*``: what was recorded, as JSON, behind a bearer token."""

import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import AfterValidator

from bot.andon import Andon
from bot.http.payloads import storable_text
from core import audit, line, stoppage
from core.actor import Actor
from core.alerts import pages as alert_pages
from core.deploy import records
from core.deploy.records import DeployView, HostView
from core.stoppage import StoppageView
from core.whys import actions as whys_actions
from core.whys.analysis import Analysis, analysis, items_of
from core.whys.item_status import ItemStatus
from storage.ids import MAX_ID  # a larger id is a 422 naming the bound
from storage.tables import ActionItem, AuditEntry, Page, PageAlert, PageEvent


def bearer(token: str | None) -> Callable[[Request], None]:
    """The dependency that guards ``/api/*``: an unset token closes the door."""

    def authorised(request: Request) -> None:
        if not token:
            raise HTTPException(401, "the API is closed: ANDON_API_TOKEN is not set on the server")
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.encode(), token.encode()):
            raise HTTPException(
                401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"}
            )

    return authorised


# A query's text reaches the database: a NUL (``%00``) is a 422 naming it, on every database.
Said = Annotated[str, AfterValidator(storable_text)]


def router(andon: Andon, *, token: str | None) -> APIRouter:
    api = APIRouter(prefix="/api", dependencies=[Depends(bearer(token))])

    @api.get("/line")
    def get_line() -> dict[str, Any]:
        """The line's state, since when, and its open stoppage."""
        with andon.database.reading() as session:
            now = line.peek(session, clock=andon.clock)
        return {
            "state": now.state.value,
            "since": now.since.isoformat(),
            "stoppage": _stoppage(now.stoppage) if now.stoppage else None,
        }

    @api.get("/stoppages/{stoppage_id}")
    def get_stoppage(stoppage_id: int = Path(ge=1, le=MAX_ID)) -> dict[str, Any]:
        """A stoppage with its causes, times, five whys and the investments it made."""
        with andon.database.reading() as session:
            found = stoppage.view(session, stoppage_id)
            if found is None:
                raise HTTPException(404, f"no stoppage #{stoppage_id}")
            shown = analysis(session, stoppage_id)
            items = items_of(session, stoppage_id)
        return {
            **_stoppage(found),
            "whys": _whys(shown),
            "investments": [_action(item) for item in items],
        }

    @api.get("/actions")
    def get_actions(
        status: Literal["open", "done", "none", "all"] = Query("all"),
        owner: Annotated[Said | None, Query(max_length=255)] = None,
    ) -> dict[str, Any]:
        """Action items of every five whys, oldest first; ``owner`` is a Slack id or a name."""
        with andon.database.reading() as session:
            rows = whys_actions.recorded(
                session, status=None if status == "all" else ItemStatus(status), owner=owner
            )
        return {"actions": [_action(row) for row in rows]}

    @api.get("/deploys")
    def get_deploys(
        limit: int = Query(50, ge=1, le=500),
        environment: Annotated[Said | None, Query(max_length=64)] = None,
    ) -> dict[str, Any]:
        """Deploys and rollbacks, newest first, with every host's part in each."""
        with andon.database.reading() as session:
            ids = records.recent(session, limit=limit, environment=environment)
            found = [records.view(session, deploy_id) for deploy_id in ids]
        return {"deploys": [_deploy(item) for item in found]}

    @api.get("/pages")
    def get_pages(
        limit: int = Query(50, ge=1, le=500),
        status: Literal["open", "acknowledged", "resolved", "held"] | None = Query(None),
    ) -> dict[str, Any]:
        """Pages, newest first, with every alert of each and everything that happened to it;
        ``status=held`` lists the pages a storm (or flapping) held."""
        wanted = alert_pages.PageStatus(status) if status else None
        with andon.database.reading() as session:
            recorded = alert_pages.recent(session, limit, status=wanted)
            found = [_page(*page) for page in recorded]
        return {"pages": found}

    @api.get("/audit")
    def get_audit(
        limit: int = Query(100, ge=1, le=1000), before: int | None = Query(None, ge=1, le=MAX_ID)
    ) -> dict[str, Any]:
        """The newest entries first; page back with ``before=<id>``."""
        with andon.database.reading() as session:
            rows = audit.entries(session, limit=limit, before=before)
        return {"entries": [_entry(row) for row in rows]}

    return api


def _person(actor: Actor | None) -> dict[str, str] | None:
    return None if actor is None else {"id": actor.id, "name": actor.name, "via": actor.via}


def _stoppage(item: StoppageView) -> dict[str, Any]:
    return {
        "id": item.id,
        "state": item.state.value,
        "opened_at": item.opened_at.isoformat(),
        "opened_by": _person(item.opened_by),
        "closed_at": item.closed_at.isoformat() if item.closed_at else None,
        "closed_by": _person(item.closed_by),
        "duration_s": (item.closed_at - item.opened_at).total_seconds() if item.closed_at else None,
        "causes": [
            {"text": c.text, "by": _person(c.by), "at": c.at.isoformat()} for c in item.causes
        ],
        "thread_ts": item.thread_ts,
        "thread_channel": item.thread_channel,
        "thread_link": item.thread_link,
    }


def _whys(shown: Analysis) -> dict[str, Any]:
    return {
        "severity": shown.severity.value,
        "open_level": shown.phase.value,
        "done_at": _iso(shown.done_at),
        "scheduled_at": _iso(shown.scheduled_at),
        "repeat_of": shown.repeat_of,
        "answers": [
            {
                "level": answer.level,
                "text": answer.text,
                "by": {"id": answer.by, "name": answer.by_name},
                "at": answer.at.isoformat(),
                "edited_at": _iso(answer.edited_at),
            }
            for answer in shown.answers
        ],
    }


def _action(row: ActionItem) -> dict[str, Any]:
    return {
        "id": row.id,
        "stoppage_id": row.stoppage_id,
        "level": row.level,
        "text": row.text,
        "owner": row.owner,
        "owner_name": row.owner_name,
        "due": row.due.isoformat() if row.due else None,
        "category": row.category,
        "status": row.status,
        "created_at": _iso(row.created_at),
        "done_at": _iso(row.done_at),
        "done_by": row.done_by,
    }


def _entry(row: AuditEntry) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at.isoformat(),
        "actor": {"id": row.actor, "name": row.actor_name},
        "via": row.via,
        "action": row.action,
        "detail": row.detail,
        "outcome": row.outcome,
        "message": row.message,
    }


def _deploy(item: DeployView) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "revision": item.revision,
        "environment": item.environment,
        "status": item.status.value,
        "requested_by": _person(item.requested_by),
        "requested_at": item.requested_at.isoformat(),
        "approved_by": _person(item.approved_by),
        "fix_reason": item.fix_reason,
        "started_at": _iso(item.started_at),
        "finished_at": _iso(item.finished_at),
        "duration_s": item.duration.total_seconds() if item.duration else None,
        "error": item.error,
        "migrated": item.migrated,
        "hosts": [_deploy_host(host) for host in item.hosts],
    }


def _deploy_host(host: HostView) -> dict[str, Any]:
    return {
        "address": host.address,
        "step": host.step.value,
        "previous_revision": host.previous_revision,
        "started_at": _iso(host.started_at),
        "finished_at": _iso(host.finished_at),
        "duration_s": host.took.total_seconds() if host.took else None,
        "files_sent": host.files_sent,
        "bytes_sent": host.bytes_sent,
        "error": host.error,
        "runs": host.runs,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _page(page: Page, events: list[PageEvent], alerts: list[PageAlert]) -> dict[str, Any]:
    return {
        "id": page.id,
        "group": page.identity,
        "name": page.name,
        "source": page.source,
        "summary": page.summary,
        "severity": page.severity,
        "value": page.value,
        "status": page.status,
        "held_for": page.held_for,
        "stops_line": page.stops_line,
        "oncall": page.oncall,
        "level": page.level,
        "opened_at": page.opened_at.isoformat(),
        "fired_at": _iso(page.fired_at),
        "url": page.url,
        "facts": page.facts,
        "acked_at": _iso(page.acked_at),
        "acked_by": page.acked_by,
        "resolved_at": _iso(page.resolved_at),
        "resolved_by": page.resolved_by,
        "stoppage_id": page.stoppage_id,
        "suspects": page.suspects,
        "events": [
            {"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "detail": e.detail}
            for e in events
        ],
        "firing": sum(alert.status == "firing" for alert in alerts),
        "alerts": [
            {
                "identity": alert.identity,
                "name": alert.name,
                "summary": alert.summary,
                "value": alert.value,
                "severity": alert.severity,
                "status": alert.status,
                "fired_at": alert.fired_at.isoformat(),
                "resolved_at": _iso(alert.resolved_at),
            }
            for alert in alerts
        ],
    }
