"""``POST /hooks/ci/{provider}``: CI results, authenticated on the raw body before parsing."""

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from bot.andon import Andon
from bot.http.artifacts import with_junit
from bot.http.ci import NOT_JSON, READERS
from bot.http.payloads import BadPayloadError, parsed_json
from bot.http.schemas.hooks import CiAnswer, CiSkipped, refusals
from bot.http.signatures import authenticated, claimed
from bot.settings.environment import Settings
from core.audit import Outcome
from core.ci.report import BadReportError, BuildReport, Ignored
from core.ci.results import Duplicate
from core.review import ReviewEvent

# The provider in the path and the headers a sender may sign or name its delivery with, read from
# the request where they are used (the signature check, the delivery id) and documented here:
# declared as parameters, each was parsed and validated for every request, a tenth of a result's
# CPU.
_SENT = ("X-Hub-Signature-256", "X-Gitlab-Token", "X-Andon-Signature", "X-GitHub-Delivery")
PARAMETERS = {
    "parameters": [
        {
            "name": "provider",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "title": "Provider"},
        },
        *(
            {
                "name": name.lower(),
                "in": "header",
                "required": False,
                "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": name.title()},
            }
            for name in (*_SENT, "X-GitHub-Event", "Authorization")
        ),
    ]
}
ANSWERS = {
    200: {"model": CiAnswer, "description": "Recorded, or already recorded."},
    202: {"model": CiSkipped, "description": "Not a result: ignored, or a review followed."},
    **refusals(unknown="No such CI provider; the answer names the ones there are."),
}


class _Bare(APIRoute):
    """A route documented as FastAPI documents any (``openapi.json``), whose endpoint takes the
    bare request and gives its answer: it reads its path and headers itself, so there is nothing
    for FastAPI to solve or serialise — a tenth of a stored result's CPU. An ``HTTPException``
    is answered as on any route."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return self.endpoint


def router(andon: Andon, *, settings: Settings) -> APIRouter:
    hooks = APIRouter(prefix="/hooks", route_class=_Bare)

    @hooks.post("/ci/{provider}", status_code=200, responses=ANSWERS, openapi_extra=PARAMETERS)
    async def ci_result(request: Request) -> Response:
        """A result of any supported CI; other events of the provider are answered and ignored."""
        provider: str = request.path_params["provider"]
        raw = await _proven_body(provider, request, settings=settings)
        answer = await run_in_threadpool(
            _handled,
            provider,
            request.headers,
            raw,
            andon=andon,
            delivery=request.headers.get("x-github-delivery"),
        )
        return answer if isinstance(answer, Response) else JSONResponse(answer)

    return hooks


async def _proven_body(provider: str, request: Request, *, settings: Settings) -> bytes:
    """The raw body, read only once the request claims to know the secret, then proven on it."""
    if provider not in READERS:
        known = ", ".join(sorted(READERS))
        raise HTTPException(404, f"unknown CI provider {provider[:40]!r}; one of: {known}")
    secret = settings.webhook_secret(provider)
    if not secret or not claimed(provider, request.headers):
        raise HTTPException(401, "missing or wrong webhook signature or token")
    raw = await request.body()  # bounded by [http] max_body before it is read
    if not authenticated(provider, request.headers, raw, secret):
        raise HTTPException(401, "missing or wrong webhook signature or token")
    return raw


def _handled(
    provider: str, headers: Mapping[str, str], raw: bytes, *, andon: Andon, delivery: str | None
) -> Any:
    """Read, then taken, in one trip to the thread pool: megabytes of JSON or JUnit never hold
    the loop, and a result pays for one thread hop, not two or three."""
    try:
        report = _read(provider, headers, raw)
    except BadPayloadError as bad:
        return JSONResponse(bad.answer(), status_code=bad.status)
    except BadReportError as bad:
        return JSONResponse({"detail": str(bad), "field": bad.field}, status_code=422)
    return _taken(report, andon=andon, provider=provider, delivery=delivery)


def _taken(
    report: BuildReport | ReviewEvent | Ignored,
    *,
    andon: Andon,
    provider: str,
    delivery: str | None,
) -> Any:
    """What became of a report: ignored, a review tracked, or a CI result recorded once."""

    def note(detail: str) -> None:
        andon.note_webhook(source=f"ci:{provider}", outcome=Outcome.OK, detail=detail)

    if isinstance(report, Ignored):
        note(f"ignored: {report.why}")
        return JSONResponse({"ignored": report.why}, status_code=202)
    if isinstance(report, ReviewEvent):
        andon.track_review(report)
        return JSONResponse({"tracked": _tracked(report)}, status_code=202)
    ci = andon.config.ci
    if ci is not None and ci.junit_url:
        report = with_junit(report, template=ci.junit_url)
    result = andon.record_ci(report, delivery=delivery)
    if isinstance(result, Duplicate):
        note(f"duplicate: {report.pipeline} {report.status} {report.short}")
        return {"duplicate": True}
    return {"recorded": result.result_id, "stopped_line": result.stopped_line}


def _tracked(event: ReviewEvent) -> dict[str, object]:
    return {
        "forge": event.forge,
        "project": event.project,
        "number": event.number,
        "head_sha": event.head_sha,
        "open": event.open,
    }


def _read(
    provider: str, headers: Mapping[str, str], raw: bytes
) -> BuildReport | ReviewEvent | Ignored:
    """The body as a report, a review event or something ignored (in the thread pool)."""
    if not raw.strip() and provider in NOT_JSON:
        raise BadPayloadError(400, f"the body is empty: {NOT_JSON[provider]}")
    try:
        payload = parsed_json(raw)
    except BadPayloadError as bad:
        if provider in NOT_JSON and bad.detail.startswith("the body is not JSON"):
            raise BadPayloadError(400, f"{bad.detail}. {NOT_JSON[provider]}") from bad
        raise
    return READERS[provider](headers, payload)
