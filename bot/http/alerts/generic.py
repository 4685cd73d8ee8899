"""Andon's own alert payload, for anything that can POST JSON (docs/alerts.md
describes it).

Required: ``name`` and ``status`` (``firing`` | ``resolved``). Optional: ``severity``,
``summary`` (default: the name and status), ``source`` (the system that sent it, as people call
it: "Datadog"; without it the alert is from "monitoring"), ``fingerprint`` (the key; default
the name, so one name is one alert), ``value`` (a number or a string), ``url`` (http or https)
and ``labels`` (an object of strings, for routes; ``alertname`` and ``severity`` are added from
the fields above).
"""

from bot.http.fields import ALERTS, LONGEST_KEY, LONGEST_NAME, Fields
from core.alerts import senders
from core.alerts.event import AlertEvent, AlertStatus

PROVIDER = "generic"


def read(payload: object) -> list[AlertEvent]:
    """The one alert of the body; every field is checked before anything is kept."""
    body = Fields(payload, rules=ALERTS)
    name = body.text("name", longest=LONGEST_NAME)
    status = _status(body)
    severity = body.severity("severity")
    return [
        AlertEvent(
            source=PROVIDER,
            key=body.optional_text("fingerprint", longest=LONGEST_KEY) or name,
            name=name,
            status=status,
            summary=body.optional_text("summary") or f"{name} {status}",
            severity=severity,
            value=body.reading("value"),
            url=_url(body),
            labels={
                **body.labels("labels"),
                "alertname": name,
                **({"severity": severity} if severity else {}),
            },
            sender=body.optional_text("source", longest=senders.LONGEST),
        )
    ]


def _status(body: Fields) -> AlertStatus:
    status = body.text("status")
    try:
        return AlertStatus(status)
    except ValueError:
        raise body.bad("status", f"must be firing or resolved, not {status[:40]!r}") from None


def _url(body: Fields) -> str | None:
    url = body.optional_text("url")
    if url is not None and not url.startswith(("https://", "http://")):
        raise body.bad("url", "must be an http or https URL")
    return url
