"""``/metrics``: the bot's own health in Prometheus' text format, read from the database."""

from collections.abc import Iterator

from fastapi import APIRouter, Depends, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import select

from bot.andon import Andon
from bot.http.tokens import bearer_or_basic
from bot.outbox.message import MessageStatus
from bot.slack.calls import CALLS
from core import line
from storage.tables import OutboxMessage, Stoppage

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class LineCollector(Collector):
    """Reads at scrape time, so every replica reports the same shared state."""

    def __init__(self, andon: Andon) -> None:
        self._andon = andon

    def collect(self) -> Iterator[Metric]:
        with self._andon.database.reading() as session:
            state = line.current(session)
            stoppages = session.exec(select(func.count()).select_from(Stoppage)).one()
            queued = dict(
                session.exec(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                ).all()
            )
        stopped = GaugeMetricFamily("andon_line_stopped", "1 while the line is stopped")
        stopped.add_metric([], 1.0 if state.state == line.LineState.STOPPED else 0.0)
        yield stopped
        since = GaugeMetricFamily(
            "andon_line_state_since_seconds", "Unix time of the line's last change of state"
        )
        since.add_metric([], state.since.timestamp())
        yield since
        total = GaugeMetricFamily("andon_stoppages", "Stoppages recorded since the start")
        total.add_metric([], float(stoppages))
        yield total
        outbox = GaugeMetricFamily(
            "andon_outbox_messages", "Chat messages by status", labels=["status"]
        )
        for status in (MessageStatus.PENDING, MessageStatus.SENT, MessageStatus.FAILED):
            outbox.add_metric([status.value], float(queued.get(status.value, 0)))
        yield outbox


class SlackCallsCollector(Collector):
    """Slack Web API calls of this process: unlike the line, a count no database holds."""

    def collect(self) -> Iterator[Metric]:
        calls = CounterMetricFamily(
            "andon_slack_calls",
            "Calls to Slack's Web API by method and outcome (ok, refused, rate_limited, "
            "unavailable), counted by this process since it started; each replica counts its own",
            labels=["method", "outcome"],
        )
        for (method, outcome), count in sorted(CALLS.counts().items()):
            calls.add_metric([method, outcome.value], float(count))
        yield calls


def router(andon: Andon, *, token: str | None) -> APIRouter:
    """Open to anyone who reaches the port unless ``ANDON_METRICS_TOKEN`` closes it
    (docs/operations.md)."""
    registry = CollectorRegistry()
    registry.register(LineCollector(andon))
    registry.register(SlackCallsCollector())
    closed = [Depends(bearer_or_basic(token, variable="ANDON_METRICS_TOKEN"))] if token else []
    metrics = APIRouter(dependencies=closed)

    @metrics.get("/metrics", response_class=Response)
    def get_metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE)

    return metrics
