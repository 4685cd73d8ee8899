"""The FastAPI application served by ``andon serve``."""

import logging

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool

from bot.andon import Andon
from bot.http import alert_hooks, api, gate, hooks, metrics
from bot.settings import Settings

log = logging.getLogger(__name__)


def build(andon: Andon, *, slack: App | None, settings: Settings) -> FastAPI:
    app = FastAPI(title="Andon", version="0.1.0", docs_url=None, redoc_url=None)
    token = settings.andon_api_token.get_secret_value() if settings.andon_api_token else None
    app.include_router(api.router(andon, token=token))
    app.include_router(gate.router(andon, authorised=api.bearer(token)))
    app.include_router(hooks.router(andon, settings=settings))
    app.include_router(alert_hooks.router(andon, settings=settings))
    app.include_router(metrics.router(andon))

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers and its database does too."""
        andon.database.ping()
        return {"status": "ok"}

    @app.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        if slack is None:
            return JSONResponse(
                {"error": "Slack is not configured (SLACK_BOT_TOKEN is unset)"}, status_code=401
            )
        body = await request.body()
        # bolt's own Starlette handler dispatches on the event loop and blocks it until the
        # listener acks; the thread pool keeps other requests moving meanwhile.
        answer = await run_in_threadpool(slack.dispatch, to_bolt_request(request, body))
        if answer.status == 401:
            client = request.client.host if request.client else "unknown"
            log.warning(
                "refused a request to /slack/events from %s: bad or stale signature", client
            )
        return to_starlette_response(answer)

    return app
