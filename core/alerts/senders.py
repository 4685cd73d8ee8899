"""Who sent an alert, as people call it: the integration (Alertmanager, Grafana, Nagios,
PagerDuty), the sender a generic payload names, else "monitoring" — never a webhook format's
name such as "generic"."""

NAMES = {
    "alertmanager": "Alertmanager",
    "grafana": "Grafana",
    "nagios": "Nagios",
    "pagerduty": "PagerDuty",
    "check": "Andon's checks",
    "watch": "Andon's watch",
}
SOMEONE = "monitoring"  # a generic payload that names no sender
LONGEST = 100  # a sender's name as a generic payload gives it


def named(source: str, sender: str | None = None) -> str:
    """The name a page, a cause or the audit log shows for the system that sent the alert."""
    return sender or NAMES.get(source, SOMEONE)
