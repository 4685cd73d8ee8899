"""Webhooks this process answered, counted and timed for ``/metrics``.

``andon_webhooks_total{provider,status}`` and ``andon_webhook_duration_seconds{provider}``: the
provider as the audit log names it (``ci:github``, ``alerts:grafana``; ``unknown`` for a path no
provider answers, so a scanner cannot mint series), the status as the sender got it (``200``,
``401``, ``413`` …). Only the replica that answered a webhook saw it: each counts its own, from
zero at every start, and the sum over replicas is the whole.
"""

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.http import alerts, ci
from bot.http.answers import Answer, relay

FAMILIES = {"ci": frozenset(ci.READERS), "alerts": frozenset(alerts.READERS)}
UNKNOWN = "unknown"
# A sender waits for the answer: most take milliseconds, a slow database makes seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

WEBHOOKS = Counter(
    "andon_webhooks",
    "Webhooks (CI results, alerts) answered by this process, by provider and HTTP status",
    labelnames=["provider", "status"],
    registry=None,  # bot/http/metrics.py registers it with the other series of /metrics
)
WEBHOOK_SECONDS = Histogram(
    "andon_webhook_duration_seconds",
    "Time this process took to answer a webhook, from its headers to its answer",
    labelnames=["provider"],
    buckets=BUCKETS,
    registry=None,
)


def provider(path: str) -> str | None:
    """``ci:github`` for ``/hooks/ci/github``; None for a path that is not a webhook's."""
    parts = path.split("/")
    if len(parts) < 4 or parts[:2] != ["", "hooks"] or parts[2] not in FAMILIES:
        return None
    family, name = parts[2], parts[3]
    return f"{family}:{name}" if name in FAMILIES[family] else UNKNOWN


class WebhookMetrics:
    """ASGI middleware outside the body bounds, so a webhook refused as too big is counted too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sender = provider(scope.get("path", "")) if scope["type"] == "http" else None
        if sender is None:
            await self.app(scope, receive, send)
            return

        def counted(answer: Answer) -> None:
            if answer.status is not None:  # unanswered: the sender went away first
                WEBHOOKS.labels(provider=sender, status=str(answer.status)).inc()
                WEBHOOK_SECONDS.labels(provider=sender).observe(answer.seconds)

        await relay(self.app, scope, receive, send, then=counted)
