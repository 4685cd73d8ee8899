"""How long a message waited in the outbox before Slack took it: ``andon_outbox_delivery_seconds``.

Only the courier that delivered a message sees its delivery, so the histogram lives in this
process: each replica observes the messages it sent, from zero at every start.
"""

from datetime import datetime

from prometheus_client import Histogram

# From a reply sent at once to one held back by Slack's rate limits or an outage.
BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

DELIVERY_SECONDS = Histogram(
    "andon_outbox_delivery_seconds",
    "Time from a message being queued to Slack accepting it, by kind of message "
    "(post, reply, dm, update, file); observed by the process that delivered it",
    labelnames=["kind"],
    buckets=BUCKETS,
    registry=None,  # bot/http/metrics.py registers it with the other series of /metrics
)


def delivered(kind: str, *, queued_at: datetime, sent_at: datetime) -> None:
    """One message reached Slack: its wait is what a person felt as Andon's delay."""
    waited = (sent_at - queued_at).total_seconds()
    DELIVERY_SECONDS.labels(kind=kind).observe(max(waited, 0.0))
