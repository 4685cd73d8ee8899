"""``/api/*``: what was recorded, as JSON, behind a bearer token; the shapes are the models of
``bot/http/schemas``, published in ``/openapi.json``."""

import hmac
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Security
from pydantic import AfterValidator

from bot.andon import Andon
from bot.http.payloads import storable_text
from bot.http.schemas.actions import ActionItem, ActionItems
from bot.http.schemas.audit import AuditEntry, AuditLog
from bot.http.schemas.deploys import Deploy, Deploys
from bot.http.schemas.pages import Page, Pages
from bot.http.schemas.problems import API_TOKEN, NOT_FOUND, UNAUTHORISED
from bot.http.schemas.stoppages import Line, StoppageRecord
from core import audit, line, stoppage
from core.alerts import pages as alert_pages
from core.deploy import records
from core.whys import actions as whys_actions
from core.whys.analysis import analysis, items_of
from core.whys.item_status import ItemStatus
from storage.ids import MAX_ID  # a larger id is a 422 naming the bound


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


def guarded(token: str | None) -> list[Any]:
    """The token checked, and declared in the schema (Swagger's *Authorize* sends it)."""
    return [Depends(bearer(token)), Security(API_TOKEN)]


# A query's text reaches the database: a NUL (``%00``) is a 422 naming it, on every database.
Said = Annotated[str, AfterValidator(storable_text)]


def router(andon: Andon, *, token: str | None) -> APIRouter:
    """Every read of ``/api/*``, each behind the token."""
    api = APIRouter(prefix="/api", dependencies=guarded(token), responses=UNAUTHORISED)
    for part in (_line, _stoppages, _actions, _deploys, _pages, _audit):
        api.include_router(part(andon))
    return api


def _line(andon: Andon) -> APIRouter:
    reads = APIRouter(tags=["line"])

    @reads.get("/line")
    def get_line() -> Line:
        """The line's state, since when, and its open stoppage."""
        with andon.database.reading() as session:
            return Line.of(line.peek(session, clock=andon.clock))

    return reads


def _stoppages(andon: Andon) -> APIRouter:
    reads = APIRouter(tags=["line"])

    @reads.get("/stoppages/{stoppage_id}", responses=NOT_FOUND)
    def get_stoppage(stoppage_id: int = Path(ge=1, le=MAX_ID)) -> StoppageRecord:
        """A stoppage with its causes, times, five whys and the investments it made."""
        with andon.database.reading() as session:
            found = stoppage.view(session, stoppage_id)
            if found is None:
                raise HTTPException(404, f"no stoppage #{stoppage_id}")
            shown = analysis(session, stoppage_id)
            items = items_of(session, stoppage_id)
            return StoppageRecord.of_analysed(found, shown=shown, items=items)

    return reads


def _actions(andon: Andon) -> APIRouter:
    reads = APIRouter(tags=["five whys"])

    @reads.get("/actions")
    def get_actions(
        status: Literal["open", "done", "none", "all"] = Query("all"),
        owner: Annotated[Said | None, Query(max_length=255)] = None,
    ) -> ActionItems:
        """Action items of every five whys, oldest first; ``owner`` is a Slack id or a name."""
        with andon.database.reading() as session:
            rows = whys_actions.recorded(
                session, status=None if status == "all" else ItemStatus(status), owner=owner
            )
            return ActionItems(actions=[ActionItem.of(row) for row in rows])

    return reads


def _deploys(andon: Andon) -> APIRouter:
    reads = APIRouter(tags=["deploys"])

    @reads.get("/deploys")
    def get_deploys(
        limit: int = Query(50, ge=1, le=500),
        environment: Annotated[Said | None, Query(max_length=64)] = None,
    ) -> Deploys:
        """Deploys and rollbacks, newest first, with every host's part in each."""
        with andon.database.reading() as session:
            ids = records.recent(session, limit=limit, environment=environment)
            found = [records.view(session, deploy_id) for deploy_id in ids]
        return Deploys(deploys=[Deploy.of(item) for item in found])

    return reads


def _pages(andon: Andon) -> APIRouter:
    reads = APIRouter(tags=["alerts"])

    @reads.get("/pages")
    def get_pages(
        limit: int = Query(50, ge=1, le=500),
        status: Literal["open", "acknowledged", "resolved", "held"] | None = Query(None),
    ) -> Pages:
        """Pages, newest first, with every alert of each and everything that happened to it;
        ``status=held`` lists the pages a storm (or flapping) held."""
        wanted = alert_pages.PageStatus(status) if status else None
        with andon.database.reading() as session:
            recorded = alert_pages.recent(session, limit, status=wanted)
            return Pages(pages=[Page.of(*page) for page in recorded])

    return reads


def _audit(andon: Andon) -> APIRouter:
    reads = APIRouter(tags=["audit"])

    @reads.get("/audit")
    def get_audit(
        limit: int = Query(100, ge=1, le=1000), before: int | None = Query(None, ge=1, le=MAX_ID)
    ) -> AuditLog:
        """The newest entries first; page back with ``before=<id>``."""
        with andon.database.reading() as session:
            rows = audit.entries(session, limit=limit, before=before)
            return AuditLog(entries=[AuditEntry.of(row) for row in rows])

    return reads
