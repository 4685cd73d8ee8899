"""The FastAPI application served by ``andon serve``."""

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import SecretStr
from slack_bolt import App

from bot.andon import Andon
from bot.http import alert_hooks, api, gate, hooks, metrics, ofrep, slack_door
from bot.http.access_log import AccessLog
from bot.http.bodies import Bounded, Bounds
from bot.http.refusals import WebhookRefusals
from bot.http.schemas.health import Health
from bot.http.tokens import bearer_or_basic
from bot.http.webhook_metrics import WebhookMetrics
from bot.settings.environment import Settings
from bot.version import version
from core.config.http import HttpConfig

# What /docs shows above the endpoints: how to call them from the page itself.
ABOUT = (
    "What Andon recorded, as JSON. Every `/api/*` call needs the API token "
    "(`ANDON_API_TOKEN`) as a bearer token: press **Authorize**, paste it, then "
    "*Try it out*. Answers may gain fields; none is removed or renamed."
)


def build(
    andon: Andon, *, slack: App | None, settings: Settings, limits: HttpConfig | None = None
) -> FastAPI:
    """Every door; ``limits`` is andon.toml's ``[http]`` (its defaults when not given)."""
    # The schema names every field of the gate's body: it is behind the API token (below).
    app = FastAPI(
        title="Andon",
        version=version(),
        description=ABOUT,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    token = _secret(settings.andon_api_token)
    app.include_router(api.router(andon, token=token))
    app.include_router(gate.router(andon, authorised=api.bearer(token)))
    app.include_router(hooks.router(andon, settings=settings))
    app.include_router(alert_hooks.router(andon, settings=settings))
    app.include_router(metrics.router(andon, token=_secret(settings.andon_metrics_token)))
    app.include_router(ofrep.router(andon, token=_secret(settings.andon_flags_token)))
    ofrep.documented(app)
    signing = _secret(settings.slack_signing_secret)
    app.include_router(slack_door.router(slack, signing_secret=signing))
    _documented(app, token=token)
    limits = limits or HttpConfig()
    app.add_middleware(
        Bounded,
        bounds=Bounds(
            max_body=limits.max_body,
            body_timeout=limits.body_timeout.total_seconds(),
            body_stall=limits.body_stall.total_seconds(),
        ),
    )
    app.add_middleware(WebhookMetrics)  # outside the bounds: a body refused as too big counts
    app.add_middleware(WebhookRefusals)  # outside the bounds: a body too large is refused too
    if settings.andon_access_log:
        app.add_middleware(AccessLog)  # added last: the outermost, it sees every answer

    @app.get("/healthz")
    def healthz() -> Health:
        """Liveness: the process answers and its database does too."""
        andon.database.ping()
        return Health(status="ok")

    return app


def _documented(app: FastAPI, *, token: str | None) -> None:
    """``/openapi.json`` and ``/docs`` behind the API token: a browser asks for it (basic auth,
    any user name, the token as password); a script sends it as a bearer token."""
    closed = [Depends(bearer_or_basic(token, variable="ANDON_API_TOKEN"))]

    @app.get("/openapi.json", include_in_schema=False, dependencies=closed)
    def schema() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=closed)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Andon API")


def _secret(value: SecretStr | None) -> str | None:
    return (value.get_secret_value() or None) if value is not None else None
