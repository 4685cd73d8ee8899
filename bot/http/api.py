"""``/api/*``: what was recorded, as JSON, behind a bearer token."""

import hmac
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from bot.andon import Andon
from core import audit, line, stoppage
from core.actor import Actor
from core.stoppage import StoppageView
from storage.tables import AuditEntry


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
    def get_stoppage(stoppage_id: int) -> dict[str, Any]:
        with andon.database.reading() as session:
            found = stoppage.view(session, stoppage_id)
        if found is None:
            raise HTTPException(404, f"no stoppage #{stoppage_id}")
        return _stoppage(found)

    @api.get("/audit")
    def get_audit(
        limit: int = Query(100, ge=1, le=1000), before: int | None = Query(None, ge=1)
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
