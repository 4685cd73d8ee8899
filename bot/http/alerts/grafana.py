"""Grafana's unified alerting webhook: Alertmanager's body, with the evaluated values and links
to the panel added.

The value is ``valueString`` (``[ var='B' labels={...} value=0.93 ]``), else the ``values`` map
(``B=0.93``); the link is the panel, else the dashboard, else the rule; the rule, the silence and
the image are links beside it. Grafana's legacy (pre-8) alerting sends another body and is
refused: it has no ``alerts``.

A contact point's *Test* button sends one made-up alert (``alertname=TestAlert``,
``instance=Grafana``, summary "Notification test"); Grafana never resolves it. It is answered and
said in the channel, never paged.
"""

from bot.http.alerts import alertmanager
from bot.http.alerts.ignored import Tested
from bot.http.fields import LONGEST_VALUE, Fields
from core.alerts.event import AlertEvent

PROVIDER = "grafana"
TEST_LABELS = {"alertname": "TestAlert", "instance": "Grafana"}  # Grafana's default test alert
TEST_SUMMARY = "Notification test"


def read(payload: object) -> list[AlertEvent]:
    """Every alert of the notification, firing or resolved; nothing for a test notification."""
    events = alertmanager.read_group(
        payload, source=PROVIDER, value_of=_value, url_of=_url, links_of=_links
    )
    if events and all(_test(event) for event in events):
        return Tested("Grafana")
    return events


def _test(event: AlertEvent) -> bool:
    labels = {name: event.labels.get(name) for name in TEST_LABELS}
    return labels == TEST_LABELS and event.summary == TEST_SUMMARY


def _links(alert: Fields) -> list[tuple[str, str | None]]:
    return [
        ("alert rule", alert.optional_text("generatorURL")),
        ("silence", alert.optional_text("silenceURL")),
        ("image", alert.optional_text("imageURL")),
    ]


def _value(alert: Fields, annotations: dict[str, str]) -> str | None:
    shown = alert.optional_text("valueString")
    if shown is not None:
        return shown[:LONGEST_VALUE]
    readings = alert.readings("values")
    if readings:
        shown = ", ".join(f"{var}={value}" for var, value in sorted(readings.items()))
        return shown[:LONGEST_VALUE]
    return alertmanager.annotated_value(alert, annotations)


def _url(alert: Fields, body: Fields) -> str | None:
    return (
        alert.optional_text("panelURL")
        or alert.optional_text("dashboardURL")
        or alertmanager.generator_url(alert, body)
    )
