"""Each monitoring system's webhook body read into AlertEvents, so ``core`` hears every source
alike. A reader returns ``Ignored`` (an empty list that says why) for a notification that is no
alert, and raises ``BadAlertError`` naming the field for a body that is not one of its own."""

from collections.abc import Callable

from bot.http.alerts import alertmanager, generic, grafana, nagios, pagerduty
from core.alerts.event import AlertEvent

Reader = Callable[[object], list[AlertEvent]]

READERS: dict[str, Reader] = {
    "alertmanager": alertmanager.read,
    "grafana": grafana.read,
    "nagios": nagios.read,
    "pagerduty": pagerduty.read,
    "generic": generic.read,
}
