"""The series read from the database at scrape time: every replica of one database reports the
same values, so a dashboard takes them from any one (``max by (…)``), never their sum.

Counters count what can no longer change — stoppages, deploys that finished (by their final
status), pages — so they only grow, whichever replica answers and however often it restarts.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.andon import Andon
from bot.outbox.message import MessageStatus
from core import line
from core.deploy.state import DeployState
from storage.tables import Deploy, OutboxMessage, Page, Stoppage

FINISHED = [state.value for state in DeployState if state.finished]
# A local deploy takes seconds, a fleet's with a bake tens of minutes.
DEPLOY_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0)
DeployKey = tuple[str, str, str]  # environment, kind, status


@dataclass(frozen=True)
class Records:
    """One scrape's reading of the database, taken in one transaction."""

    stopped: bool
    since: datetime
    stoppages: int
    outbox: dict[str, int]
    deploys: dict[DeployKey, int]
    durations: dict[DeployKey, list[float]]
    pages: dict[tuple[str, str], int]


class RecordedCollector(Collector):
    """Reads at scrape time, so every replica reports the same shared state."""

    def __init__(self, andon: Andon) -> None:
        self._andon = andon

    def collect(self) -> Iterator[Metric]:
        with self._andon.database.reading() as session:
            records = read(session)
        yield from line_series(records)
        yield from outbox_series(records.outbox)
        yield from deploy_series(records.deploys, records.durations)
        yield pages_series(records.pages)
        yield from deprecated_series(records)


def read(session: Session) -> Records:
    """Everything /metrics shows from the database, in a handful of grouped queries."""
    outbox = session.exec(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    finished = col(Deploy.status).in_(FINISHED)
    deploys = session.exec(
        select(Deploy.environment, Deploy.kind, Deploy.status, func.count())
        .where(finished)
        .group_by(Deploy.environment, Deploy.kind, Deploy.status)
    ).all()
    timed = session.exec(
        select(
            Deploy.environment, Deploy.kind, Deploy.status, Deploy.started_at, Deploy.finished_at
        )
        .where(finished)
        .where(col(Deploy.started_at).is_not(None), col(Deploy.finished_at).is_not(None))
    ).all()
    pages = session.exec(
        select(Page.source, Page.severity, func.count()).group_by(Page.source, Page.severity)
    ).all()
    now = line.current(session)
    return Records(
        stopped=now.state == line.LineState.STOPPED,
        since=now.since,
        stoppages=int(session.exec(select(func.count()).select_from(Stoppage)).one()),
        outbox={str(status): int(count) for status, count in outbox},
        deploys={(e, k, s): int(count) for e, k, s, count in deploys},
        durations=_durations(timed),
        pages=_pages(pages),
    )


def line_series(records: Records) -> Iterator[Metric]:
    stopped = GaugeMetricFamily("andon_line_stopped", "1 while the line is stopped, else 0")
    stopped.add_metric([], 1.0 if records.stopped else 0.0)
    yield stopped
    since = GaugeMetricFamily(
        "andon_line_state_since_timestamp_seconds",
        "Unix time of the line's last change of state (stopped or started)",
    )
    since.add_metric([], records.since.timestamp())
    yield since
    stoppages = CounterMetricFamily("andon_stoppages", "Stoppages of the line ever opened")
    stoppages.add_metric([], float(records.stoppages))
    yield stoppages


def outbox_series(queued: dict[str, int]) -> Iterator[Metric]:
    pending = GaugeMetricFamily(
        "andon_outbox_pending", "Chat messages queued and not yet accepted by Slack"
    )
    pending.add_metric([], float(queued.get(MessageStatus.PENDING.value, 0)))
    yield pending
    failed = CounterMetricFamily(
        "andon_outbox_failed",
        "Chat messages given up: Slack refused them (after their minimal form) or their parent",
    )
    failed.add_metric([], float(queued.get(MessageStatus.FAILED.value, 0)))
    yield failed


def deploy_series(
    deploys: dict[DeployKey, int], durations: dict[DeployKey, list[float]]
) -> Iterator[Metric]:
    labels = ["environment", "kind", "status"]
    total = CounterMetricFamily(
        "andon_deploys",
        "Deploys and rollbacks that finished, by environment, kind and final status "
        "(succeeded, failed, interrupted, cancelled)",
        labels=labels,
    )
    for key, count in sorted(deploys.items()):
        total.add_metric(list(key), float(count))
    yield total
    took = HistogramMetricFamily(
        "andon_deploy_duration_seconds",
        "Time from a deploy's start to its end, for finished deploys that started",
        labels=labels,
    )
    for key, seconds in sorted(durations.items()):
        took.add_metric(list(key), buckets=_buckets(seconds), sum_value=sum(seconds))
    yield took


def pages_series(pages: dict[tuple[str, str], int]) -> Metric:
    total = CounterMetricFamily(
        "andon_pages",
        "Pages opened, held ones too, by alert source and the severity the sender gave "
        "(empty when it gave none)",
        labels=["source", "severity"],
    )
    for key, count in sorted(pages.items()):
        total.add_metric(list(key), float(count))
    return total


def deprecated_series(records: Records) -> Iterator[Metric]:
    """The first names of these series, kept for the dashboards that use them
    (docs/operations.md says what replaces each)."""
    since = GaugeMetricFamily(
        "andon_line_state_since_seconds",
        "Deprecated: use andon_line_state_since_timestamp_seconds",
    )
    since.add_metric([], records.since.timestamp())
    yield since
    stoppages = GaugeMetricFamily("andon_stoppages", "Deprecated: use andon_stoppages_total")
    stoppages.add_metric([], float(records.stoppages))
    yield stoppages
    outbox = GaugeMetricFamily(
        "andon_outbox_messages",
        "Deprecated: use andon_outbox_pending and andon_outbox_failed_total",
        labels=["status"],
    )
    for status in (MessageStatus.PENDING, MessageStatus.SENT, MessageStatus.FAILED):
        outbox.add_metric([status.value], float(records.outbox.get(status.value, 0)))
    yield outbox


def _durations(
    rows: Sequence[tuple[str, str, str, datetime | None, datetime | None]],
) -> dict[DeployKey, list[float]]:
    durations: dict[DeployKey, list[float]] = {}
    for environment, kind, status, started, finished in rows:
        if started is None or finished is None:
            continue
        seconds = max((finished - started).total_seconds(), 0.0)
        durations.setdefault((environment, kind, status), []).append(seconds)
    return durations


def _buckets(seconds: list[float]) -> list[tuple[str, float]]:
    """Cumulative counts per upper bound, ``+Inf`` last: Prometheus' histogram shape."""
    shape = [(str(bound), float(sum(s <= bound for s in seconds))) for bound in DEPLOY_BUCKETS]
    return [*shape, ("+Inf", float(len(seconds)))]


def _pages(rows: Sequence[tuple[str, str | None, int]]) -> dict[tuple[str, str], int]:
    pages: dict[tuple[str, str], int] = {}
    for source, severity, count in rows:
        key = (source, severity or "")
        pages[key] = pages.get(key, 0) + int(count)
    return pages
