"""``/metrics``: the bot's own health in Prometheus' text format (docs/operations.md lists it).

Two kinds of series: those read from the database (bot/http/recorded_metrics.py), the same from
every replica; and those only this process sees — the webhooks it answered, the Slack calls it
made, the messages it delivered — counted from zero at each start, summed over replicas.
"""

from collections.abc import Iterator

from fastapi import APIRouter, Depends, Response
from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.andon import Andon
from bot.http.recorded_metrics import RecordedCollector
from bot.http.tokens import bearer_or_basic
from bot.http.webhook_metrics import WEBHOOK_SECONDS, WEBHOOKS
from bot.outbox.delivery_times import DELIVERY_SECONDS
from bot.slack.calls import CALLS
from bot.version import version

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


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


class BuildCollector(Collector):
    """``andon_build_info{version}``: which release each replica runs, 1 by convention."""

    def __init__(self) -> None:
        self._version = version()

    def collect(self) -> Iterator[Metric]:
        build = InfoMetricFamily("andon_build", "The Andon release this process runs")
        build.add_metric([], {"version": self._version})
        yield build


def registry(andon: Andon) -> CollectorRegistry:
    """Every series of /metrics, in a registry of its own: several apps (tests) share a process."""
    collected = CollectorRegistry()
    for collector in (
        BuildCollector(),
        RecordedCollector(andon),
        SlackCallsCollector(),
        WEBHOOKS,
        WEBHOOK_SECONDS,
        DELIVERY_SECONDS,
    ):
        collected.register(collector)
    GCCollector(registry=collected)  # python_gc_*
    ProcessCollector(registry=collected)  # process_*: CPU, memory, open files (Linux)
    PlatformCollector(registry=collected)  # python_info
    return collected


def router(andon: Andon, *, token: str | None) -> APIRouter:
    """Open to anyone who reaches the port unless ``ANDON_METRICS_TOKEN`` closes it
    (docs/operations.md)."""
    collected = registry(andon)
    closed = [Depends(bearer_or_basic(token, variable="ANDON_METRICS_TOKEN"))] if token else []
    metrics = APIRouter(dependencies=closed)

    @metrics.get("/metrics", response_class=Response)
    def get_metrics() -> Response:
        return Response(generate_latest(collected), media_type=CONTENT_TYPE)

    return metrics
