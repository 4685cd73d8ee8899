"""PagerDuty's Events API v2, for senders that speak it (many monitoring tools do).

``routing_key`` carries the webhook secret: such senders can set no header. A ``trigger``
fires and a ``resolve`` resolves the alert named by ``dedup_key``; a trigger without one gets a
key made of its summary and source, so the same problem sent again is the same alert, and the
answer hands it back for the resolve. ``acknowledge`` is answered and ignored: pages are
acknowledged in Slack, by the person paged.

The alert is named by ``payload.summary`` (``source`` is often the sending tool's own name —
every event of Alertmanager's PagerDuty sender says "Alertmanager"), with ``source`` shown
beside it; ``client_url`` and ``links`` are its links, ``custom_details`` its details;
``images`` are not shown (a DM is no place for them).
"""

import hashlib
import hmac
import json
from urllib.parse import quote, quote_plus

from bot.http.alerts.ignored import Ignored
from bot.http.fields import ALERTS, LONGEST_KEY, LONGEST_NAME, Fields
from core.alerts.event import LONGEST_DETAIL, MOST_DETAILS, AlertEvent, AlertStatus, Facts

PROVIDER = "pagerduty"
ACTIONS = {"trigger": AlertStatus.FIRING, "resolve": AlertStatus.RESOLVED}
SEVERITIES = ("critical", "error", "warning", "info")
LONGEST_SUMMARY = 1024  # PagerDuty's own limit
NAMED = ("source", "component", "group", "class")  # payload fields kept as labels


def authenticated(payload: object, secret: str | None) -> bool:
    """Whether ``routing_key`` is the secret; an unset secret lets nobody in."""
    if not secret or not isinstance(payload, dict):
        return False
    given = payload.get("routing_key")
    return isinstance(given, str) and hmac.compare_digest(given.encode(), secret.encode())


def may_carry(raw: bytes, secret: str | None) -> bool:
    """A body that holds the secret nowhere cannot hold it as ``routing_key``: a stranger's body
    is refused before it is parsed."""
    if not secret:
        return False
    written = {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)}
    return any(form.encode() in raw for form in written)


def read(payload: object) -> list[AlertEvent]:
    """The one alert of a trigger or a resolve; nothing for an acknowledge."""
    event = Fields(payload, rules=ALERTS)
    action = event.text("event_action")
    if action == "acknowledge":
        return Ignored("acknowledge: pages are acknowledged in Slack by the person paged")
    if action not in ACTIONS:
        raise event.bad("event_action", f"must be trigger, acknowledge or resolve, not {action!r}")
    given_key = event.optional_text("dedup_key", longest=LONGEST_KEY)
    if action == "resolve":
        return [_resolve(event, given_key)]
    return [_trigger(event, given_key)]


def _trigger(event: Fields, given_key: str | None) -> AlertEvent:
    details = event.child("payload")
    if details is None:
        raise event.bad("payload", "is missing: a trigger says what is wrong")
    summary = details.text("summary")[:LONGEST_SUMMARY]
    source = details.text("source", longest=LONGEST_NAME)
    severity = details.text("severity")
    if severity not in SEVERITIES:
        raise details.bad("severity", f"must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    named = {name: details.optional_text(name, longest=LONGEST_NAME) for name in NAMED}
    links = _links(event)
    return AlertEvent(
        source=PROVIDER,
        key=given_key or _dedup_key(summary, source),
        name=summary[:LONGEST_NAME],
        status=AlertStatus.FIRING,
        summary=summary,
        severity=severity,
        url=links[0][1] if links else None,
        labels={
            **_custom_details(details),
            **{name: value for name, value in named.items() if value},
            "severity": severity,
        },
        started_at=details.timestamp("timestamp"),
        facts=Facts.of(origin=source, links=links, details=_shown_details(details)),
    )


def _resolve(event: Fields, given_key: str | None) -> AlertEvent:
    if given_key is None:
        raise event.bad("dedup_key", "is missing: a resolve names the alert it resolves")
    details = event.child("payload")
    summary = details.optional_text("summary") if details else None
    return AlertEvent(
        source=PROVIDER,
        key=given_key,
        name=given_key,
        status=AlertStatus.RESOLVED,
        summary=(summary or "")[:LONGEST_SUMMARY],  # none: the page keeps what fired
    )


def _dedup_key(summary: str, source: str) -> str:
    return hashlib.sha256(f"{source}\n{summary}".encode()).hexdigest()[:32]


def _links(event: Fields) -> list[tuple[str, str]]:
    """Where the sender says to look: its own page (``client_url``, named by ``client``), then
    ``links`` in order, each named by its ``text``."""
    found = []
    client_url = event.optional_text("client_url")
    if client_url:
        found.append((event.optional_text("client") or "sender", client_url))
    for index, item in enumerate(event.items("links")):
        link = Fields(item, f"links[{index}]", rules=ALERTS)
        href = link.optional_text("href")
        if href:
            found.append((link.optional_text("text") or href, href))
    return found


def _shown_details(details: Fields) -> list[tuple[str, str]]:
    """``custom_details`` as people read them: a text as it is, an object as name and value
    (nested values as compact JSON)."""
    custom = details.raw("custom_details")
    if custom is None:
        return []
    if not isinstance(custom, dict):
        shown = custom if isinstance(custom, str) else json.dumps(custom, ensure_ascii=False)
        return [("details", shown[:LONGEST_DETAIL])]
    return [
        (str(name), value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        for name, value in list(custom.items())[:MOST_DETAILS]
    ]


def _custom_details(details: Fields) -> dict[str, str]:
    """Custom details that are plain values become labels, so that routes can match them."""
    custom = details.raw("custom_details")  # free-form: a text, an object, anything
    if not isinstance(custom, dict):
        return {}
    return {
        str(name): str(value)
        for name, value in custom.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    }
