"""Alertmanager's webhook (version 4): one group of alerts per delivery, re-sent while it fires.

Each alert is keyed by its fingerprint, so a re-sent group changes nothing. Grafana's unified
alerting sends the same shape with a few more fields; ``grafana.py`` reads it through
``read_group``.
"""

import hashlib
import json
from collections.abc import Callable

from bot.http.alerts.ignored import Ignored
from bot.http.fields import (
    ALERTS,
    LONGEST_KEY,
    LONGEST_NAME,
    LONGEST_SEVERITY,
    LONGEST_VALUE,
    Fields,
)
from core.alerts.event import AlertEvent, AlertStatus, Facts

PROVIDER = "alertmanager"
SUMMARIES = ("summary", "title", "description")
RUNBOOKS = ("runbook_url", "runbook")  # the annotation names Prometheus's own rules use

ValueOf = Callable[[Fields, dict[str, str]], str | None]
UrlOf = Callable[[Fields, Fields], str | None]
LinksOf = Callable[[Fields], list[tuple[str, str | None]]]


def read(payload: object) -> list[AlertEvent]:
    """Every alert of the group, firing or resolved."""
    return read_group(payload, source=PROVIDER, value_of=annotated_value, url_of=generator_url)


def read_group(
    payload: object,
    *,
    source: str,
    value_of: ValueOf,
    url_of: UrlOf,
    links_of: LinksOf = lambda alert: [],
) -> list[AlertEvent]:
    """The ``alerts[]`` of an Alertmanager-shaped body; ``value_of``, ``url_of`` and
    ``links_of`` read what the sender adds (an alert's fields and annotations; an alert's fields
    and the body's; the links it carries besides)."""
    body = Fields(payload, rules=ALERTS)
    group = body.optional_text("groupKey")
    events = []
    for index, item in enumerate(body.required_items("alerts")):
        alert = Fields(item, f"alerts[{index}]", rules=ALERTS)
        labels = alert.labels("labels")
        annotations = alert.labels("annotations")
        name = _alertname(alert, labels)
        summary = _summary(name, labels, annotations)
        events.append(
            AlertEvent(
                source=source,
                key=alert.optional_text("fingerprint", longest=LONGEST_KEY) or _fingerprint(labels),
                name=name,
                status=_status(alert),
                summary=summary,
                severity=_severity(labels),
                value=value_of(alert, annotations),
                url=url_of(alert, body),
                labels=labels,
                started_at=alert.timestamp("startsAt"),
                group=group,
                facts=facts(annotations, summary=summary, links=links_of(alert)),
            )
        )
    return events or Ignored("the group holds no alerts")


def facts(
    annotations: dict[str, str], *, summary: str, links: list[tuple[str, str | None]]
) -> Facts:
    """The annotations people act on: the description (unless it is the summary already) and
    the runbook."""
    description = annotations.get("description", "").strip()
    runbook = next((annotations[name].strip() for name in RUNBOOKS if name in annotations), "")
    return Facts.of(
        description=description if description != summary else None,
        links=[("runbook", runbook), *links],
    )


def annotated_value(alert: Fields, annotations: dict[str, str]) -> str | None:
    """Alertmanager carries no value of its own; rules often annotate it (``{{ $value }}``)."""
    return annotations.get("value", "").strip()[:LONGEST_VALUE] or None


def generator_url(alert: Fields, body: Fields) -> str | None:
    """The rule's graph in Prometheus, else the Alertmanager that sent the group."""
    return alert.optional_text("generatorURL") or body.optional_text("externalURL")


def _alertname(alert: Fields, labels: dict[str, str]) -> str:
    name = labels.get("alertname", "").strip()
    if not name:
        raise alert.bad("labels.alertname", "is missing")
    return name[:LONGEST_NAME]


def _status(alert: Fields) -> AlertStatus:
    status = alert.text("status")
    try:
        return AlertStatus(status)
    except ValueError:
        raise alert.bad("status", f"must be firing or resolved, not {status[:40]!r}") from None


def _summary(name: str, labels: dict[str, str], annotations: dict[str, str]) -> str:
    for annotation in SUMMARIES:
        text = annotations.get(annotation, "").strip()
        if text:
            return text
    instance = labels.get("instance", "").strip()
    return f"{name} on {instance}" if instance else name


def _severity(labels: dict[str, str]) -> str | None:
    severity = labels.get("severity", "").strip().lower()
    return severity[:LONGEST_SEVERITY] or None


def _fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager always sends one; a sender that does not is keyed by its labels alike."""
    canonical = json.dumps(sorted(labels.items()), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
