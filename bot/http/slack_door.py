"""``POST /slack/events``: Slack's signature is checked on the raw bytes before bolt reads them.

bolt parses a request's body before its own signature check, so an unsigned body that is not
UTF-8, not JSON or nested a thousand deep made it fail with a 500 and a traceback. Here the
timestamp is checked before the body is read, the v0 signature over the exact bytes before
anything is parsed (401 for strangers), and a signed body bolt could not read is a 400.
"""

import hashlib
import hmac
import logging
import re
import time

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt import App, BoltResponse
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response

from bot.http.admission import Admission
from bot.http.payloads import BadPayloadError, slack_body

log = logging.getLogger(__name__)
STALE_S = 5 * 60  # Slack's own rule: older requests may be replays
_SECONDS = re.compile(r"[0-9]{1,12}")


def router(slack: App | None, *, signing_secret: str | None) -> APIRouter:
    door = APIRouter()
    admitted = Admission()  # bolt's listeners run a few at a time (``bot.http.admission``)

    @door.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        if slack is None:
            return _refused("Slack is not configured (SLACK_BOT_TOKEN is unset)")
        if not signing_secret:
            return _refused("closed: SLACK_SIGNING_SECRET is not set on the server")
        stamp = request.headers.get("x-slack-request-timestamp", "")
        problem = _stamp_problem(stamp) or _signature_missing(request)
        if problem is None:
            raw = await request.body()  # bounded by [http] max_body before it is read
            problem = _signature_problem(request, raw, stamp, signing_secret.encode())
        if problem is not None:
            client = request.client.host if request.client else "unknown"
            log.warning("refused a request to /slack/events from %s: %s", client, problem)
            return _refused(problem)
        # bolt's own Starlette handler dispatches on the event loop and blocks it until the
        # listener acks; the thread pool keeps other requests moving meanwhile.
        return await admitted.run(_dispatch, slack, request, raw)

    return door


def _dispatch(slack: App, request: Request, raw: bytes) -> Response:
    """The body checked, then read again by bolt, in one trip to the thread pool: it is known
    to be signed; one bolt could not read is a 400 (or a 422) naming the problem."""
    try:
        slack_body(raw, request.headers.get("content-type", ""))
    except BadPayloadError as bad:
        return JSONResponse(bad.answer(), status_code=bad.status)
    answer: BoltResponse = slack.dispatch(to_bolt_request(request, raw))
    return to_starlette_response(answer)


def _stamp_problem(stamp: str) -> str | None:
    if not _SECONDS.fullmatch(stamp):
        return "X-Slack-Request-Timestamp is missing or not a whole number of seconds"
    if abs(time.time() - int(stamp)) > STALE_S:
        return "X-Slack-Request-Timestamp is more than 5 minutes away: stale or replayed"
    return None


def _signature_missing(request: Request) -> str | None:
    if not request.headers.get("x-slack-signature", "").startswith("v0="):
        return "X-Slack-Signature is missing or not a v0 signature"
    return None


def _signature_problem(request: Request, raw: bytes, stamp: str, secret: bytes) -> str | None:
    """Slack's v0 scheme: HMAC-SHA256 of ``v0:<timestamp>:<body>``, over the bytes as sent."""
    base = b"v0:" + stamp.encode() + b":" + raw
    expected = "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()
    given = request.headers.get("x-slack-signature", "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return "bad signature: X-Slack-Signature does not match the body"
    return None


def _refused(why: str) -> JSONResponse:
    return JSONResponse({"error": why}, status_code=401)
