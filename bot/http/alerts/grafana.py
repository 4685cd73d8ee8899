"""Grafana's unified alerting webhook: Alertmanager's body, with the evaluated values and links
to the panel added.

The value is ``valueString`` (``[ var='B' labels={...} value=0.93 ]``), else the ``values`` map
(``B=0.93``); the link is the panel, else the dashboard, else the rule. Grafana's legacy (pre-8)
alerting sends another body and is refused: it has no ``alerts``.
"""

from bot.http.alerts import alertmanager
from bot.http.alerts.fields import LONGEST_VALUE, Fields
from core.alerts.event import AlertEvent

PROVIDER = "grafana"


def read(payload: object) -> list[AlertEvent]:
    """Every alert of the notification, firing or resolved."""
    return alertmanager.read_group(payload, source=PROVIDER, value_of=_value, url_of=_url)


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
