"""``POST /hooks/ci/{provider}``: CI results, authenticated on the raw body before parsing."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.andon import Andon
from bot.http.artifacts import with_junit
from bot.http.ci import READERS
from bot.http.signatures import authenticated
from bot.settings import Settings
from core.audit import Outcome
from core.ci.report import BadReportError, Ignored
from core.ci.results import Duplicate
from core.review import ReviewEvent

MAX_BODY = 5 * 1024 * 1024
Optional = Annotated[str | None, Header()]


def router(andon: Andon, *, settings: Settings) -> APIRouter:
    hooks = APIRouter(prefix="/hooks")

    @hooks.post("/ci/{provider}", status_code=200)
    async def ci_result(
        provider: str,
        request: Request,
        x_hub_signature_256: Optional = None,
        x_gitlab_token: Optional = None,
        x_andon_signature: Optional = None,
        x_github_delivery: Optional = None,
        x_github_event: Optional = None,
        authorization: Optional = None,
    ) -> Any:
        """A result of any supported CI; other events of the provider are answered and ignored."""
        if provider not in READERS:
            known = ", ".join(sorted(READERS))
            raise HTTPException(404, f"unknown CI provider {provider[:40]!r}; one of: {known}")
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise HTTPException(413, f"the body is over {MAX_BODY // 1024 // 1024} MB")
        if not authenticated(provider, request.headers, raw, settings.webhook_secret(provider)):
            raise HTTPException(401, "missing or wrong webhook signature or token")
        payload = _json(raw)
        try:
            report = READERS[provider](request.headers, payload)
        except BadReportError as bad:
            return JSONResponse({"detail": str(bad), "field": bad.field}, status_code=422)

        def note(detail: str) -> None:
            andon.note_webhook(source=f"ci:{provider}", outcome=Outcome.OK, detail=detail)

        if isinstance(report, Ignored):
            await run_in_threadpool(note, f"ignored: {report.why}")
            return JSONResponse({"ignored": report.why}, status_code=202)
        if isinstance(report, ReviewEvent):
            await run_in_threadpool(andon.track_review, report)
            return JSONResponse({"tracked": _tracked(report)}, status_code=202)
        ci = andon.config.ci
        if ci is not None and ci.junit_url:
            report = await run_in_threadpool(with_junit, report, template=ci.junit_url)
        result = await run_in_threadpool(andon.record_ci, report, delivery=x_github_delivery)
        if isinstance(result, Duplicate):
            await run_in_threadpool(
                note, f"duplicate: {report.pipeline} {report.status} {report.short}"
            )
            return {"duplicate": True}
        return {"recorded": result.result_id, "stopped_line": result.stopped_line}

    return hooks


def _tracked(event: ReviewEvent) -> dict[str, object]:
    return {
        "forge": event.forge,
        "project": event.project,
        "number": event.number,
        "head_sha": event.head_sha,
        "open": event.open,
    }


def _json(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as bad:
        raise HTTPException(400, f"the body is not JSON: {bad}") from bad
