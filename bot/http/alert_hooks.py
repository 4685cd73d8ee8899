"""``POST /hooks/alerts/{provider}``: alerts from monitoring, authenticated before they are read.

Every provider but PagerDuty proves the secret on the raw body (``X-Andon-Signature``, or a
bearer token or basic-auth password for senders that cannot sign). PagerDuty's senders carry it
in the body's ``routing_key``: that is checked once the JSON is parsed, before anything is
written. A refusal writes nothing, not even an audit row.

PagerDuty's clients take a base URL and append ``/v2/enqueue``: ``/hooks/alerts/pagerduty`` and
``/hooks/alerts/pagerduty/v2/enqueue`` are the same door.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.andon import Andon
from bot.http.alerts import READERS, pagerduty
from bot.http.alerts.ignored import Ignored, Tested
from bot.http.payloads import FORM, BadPayloadError, form, parsed_json
from bot.http.schemas.hooks import AlertsRecorded, AlertsSkipped, PagerDutyAnswer, refusals
from bot.http.signatures import authenticated, claimed
from bot.settings.environment import Settings
from core.alerts.event import AlertEvent, BadAlertError
from core.audit import Outcome

Optional = Annotated[str | None, Header()]
PAGERDUTY_ACCEPTED = {"status": "success", "message": "Event processed"}  # as PagerDuty answers
NOTHING_RECORDED = {"alerts": 0, "paged": 0, "updated": 0, "held": 0, "unchanged": 0}
REFUSED = refusals(unknown="No such alert provider; the answer names the ones there are.")
ANSWERS = {
    200: {"model": AlertsRecorded, "description": "The alerts recorded: who was paged."},
    202: {"model": AlertsSkipped, "description": "No alert in the body, or PagerDuty's answer."},
    **REFUSED,
}
ENQUEUED = {
    202: {"model": PagerDutyAnswer, "description": "PagerDuty's answer."},
    **{status: said for status, said in REFUSED.items() if status != 404},
}


def router(andon: Andon, *, settings: Settings) -> APIRouter:
    hooks = APIRouter(prefix="/hooks/alerts")

    @hooks.post("/pagerduty/v2/enqueue", status_code=202, responses=ENQUEUED)
    async def pagerduty_enqueue(request: Request) -> Any:
        """PagerDuty's Events API v2 as its clients call it: the base URL and ``/v2/enqueue``."""
        return await _alerts(pagerduty.PROVIDER, request, andon=andon, settings=settings)

    @hooks.post("/{provider}", status_code=200, responses=ANSWERS)
    async def alerts(
        provider: str,
        request: Request,
        x_andon_signature: Optional = None,
        authorization: Optional = None,
    ) -> Any:
        """Alerts firing or resolved; notifications that are no alert are answered and ignored."""
        return await _alerts(provider, request, andon=andon, settings=settings)

    return hooks


async def _alerts(provider: str, request: Request, *, andon: Andon, settings: Settings) -> Any:
    """One delivery: authenticated, read, then recorded — or answered as a test or ignored."""
    if provider not in READERS:
        known = ", ".join(sorted(READERS))
        raise HTTPException(404, f"unknown alert provider {provider[:40]!r}; one of: {known}")
    secret = settings.webhook_secret(provider)
    raw = await _proven_body(provider, request, secret=secret)
    content_type = request.headers.get("content-type", "")
    try:
        payload = await run_in_threadpool(_payload, raw, content_type)
        if provider == pagerduty.PROVIDER and not pagerduty.authenticated(payload, secret):
            raise HTTPException(401, "missing or wrong routing_key")
        events = await run_in_threadpool(READERS[provider], payload)
    except BadPayloadError as bad:
        return JSONResponse(bad.answer(), status_code=bad.status)
    except BadAlertError as bad:
        return JSONResponse({"detail": str(bad), "field": bad.field}, status_code=422)
    return await _answer(events, andon=andon, provider=provider, payload=payload)


async def _proven_body(provider: str, request: Request, *, secret: str | None) -> bytes:
    """The raw body, read only once the request claims to know the secret, then proven on it;
    PagerDuty's, which carries it inside, is first checked to hold it anywhere at all."""
    if provider == pagerduty.PROVIDER:
        raw = await request.body()  # bounded by [http] max_body before it is read
        if not pagerduty.may_carry(raw, secret):
            raise HTTPException(401, "missing or wrong routing_key")
        return raw
    if not secret or not claimed(provider, request.headers):
        raise HTTPException(401, "missing or wrong webhook signature or token")
    raw = await request.body()  # bounded by [http] max_body before it is read
    if not authenticated(provider, request.headers, raw, secret):
        raise HTTPException(401, "missing or wrong webhook signature or token")
    return raw


async def _answer(events: list[AlertEvent], *, andon: Andon, provider: str, payload: object) -> Any:
    """A test said in the channel, a notification that is no alert audited, or alerts recorded;
    PagerDuty's senders get PagerDuty's own answer."""
    by_routing_key = provider == pagerduty.PROVIDER
    if isinstance(events, Tested):
        await run_in_threadpool(andon.sender_tested, events.sender, source=provider)
        return {
            **NOTHING_RECORDED,
            "test": f"{events.sender}'s test notification reached Andon",
        }
    if not events:
        why = events.why if isinstance(events, Ignored) else "no alerts in the body"
        await run_in_threadpool(
            andon.note_webhook,
            source=f"alerts:{provider}",
            outcome=Outcome.OK,
            detail=f"ignored: {why}",
        )
        if by_routing_key:
            return JSONResponse({**_pagerduty(payload, events), "ignored": why}, 202)
        return JSONResponse({"ignored": why}, status_code=202)
    recorded = await run_in_threadpool(andon.record_alerts, events, source=provider)
    if by_routing_key:
        return JSONResponse(_pagerduty(payload, events), status_code=202)
    return {
        "alerts": len(events),
        "paged": recorded.paged,
        "updated": recorded.updated,
        "held": recorded.held,
        "unchanged": recorded.unchanged,
    }


def _payload(raw: bytes, content_type: str) -> object:
    """JSON, or a form's fields as strings (what a notification script finds easiest)."""
    if content_type.split(";")[0].strip().lower() == FORM:
        return form(raw)
    return parsed_json(raw)


def _pagerduty(payload: object, events: list[AlertEvent]) -> dict[str, object]:
    """PagerDuty's own answer, so its senders' clients read it; the key is the one to resolve."""
    given = payload.get("dedup_key") if isinstance(payload, dict) else None
    return {**PAGERDUTY_ACCEPTED, "dedup_key": events[0].key if events else given}
