"""A Nagios (or Icinga 1, Naemon) notification, as ``contrib/nagios/andon-notify`` posts it.

The body holds the notification macros by name (``NOTIFICATIONTYPE``, ``HOSTNAME``,
``SERVICEDESC``, ...; any case), as JSON or as a form. A problem's id is the alert's key: Nagios
gives every problem a new one and, at recovery, resets ``SERVICEPROBLEMID`` to 0 and keeps the
old one in ``LASTSERVICEPROBLEMID`` (the same for hosts). Only ``PROBLEM`` pages and only
``RECOVERY`` resolves: acknowledgements happen in Slack, and flapping or downtime notices are no
new alert.
"""

from bot.http.alerts.ignored import Ignored
from bot.http.fields import ALERTS, LONGEST_NAME, Fields
from core.alerts.event import AlertEvent, AlertStatus

PROVIDER = "nagios"
STATUSES = {"PROBLEM": AlertStatus.FIRING, "RECOVERY": AlertStatus.RESOLVED}
SEVERITIES = {
    "CRITICAL": "critical",
    "DOWN": "critical",
    "UNREACHABLE": "critical",
    "WARNING": "warning",
    "UNKNOWN": "unknown",
}
NO_PROBLEM = "0"  # what Nagios puts in a problem id while there is no problem


def read(payload: object) -> list[AlertEvent]:
    """The one alert of a PROBLEM or RECOVERY notification; nothing for the other types."""
    macros = Fields(_upper(payload), rules=ALERTS)
    kind = macros.text("NOTIFICATIONTYPE").upper()
    if kind not in STATUSES:
        return Ignored(f"{kind[:40]} notifications are not alerts: only PROBLEM and RECOVERY")
    status = STATUSES[kind]
    host = macros.text("HOSTNAME", longest=LONGEST_NAME)
    service = macros.optional_text("SERVICEDESC", longest=LONGEST_NAME)
    of = "SERVICE" if service else "HOST"
    state = (macros.optional_text(f"{of}STATE") or macros.optional_text("STATE") or "").upper()
    output = macros.optional_text(f"{of}OUTPUT") or macros.optional_text("OUTPUT")
    severity = SEVERITIES.get(state)
    where = f"{service} on {host}" if service else host
    said = f"{where} is {state}" if state else f"{where}: {kind}"
    labels = {"host": host, **({"service": service} if service else {})}
    return [
        AlertEvent(
            source=PROVIDER,
            key=_problem_id(macros, of, status),
            name=service or host,
            status=status,
            summary=f"{said}: {output}" if output else said,
            severity=severity,
            labels={**labels, **({"severity": severity} if severity else {})},
        )
    ]


def _problem_id(macros: Fields, of: str, status: AlertStatus) -> str:
    """The problem's id; a recovery, whose own id is already 0, names the last problem's."""
    current = macros.optional_identifier(f"{of}PROBLEMID")
    if current is not None and current != NO_PROBLEM:
        return current
    if status is AlertStatus.FIRING:
        raise macros.bad(f"{of}PROBLEMID", f"is missing: pass ${of}PROBLEMID$")
    last = macros.optional_identifier(f"LAST{of}PROBLEMID")
    if last is None or last == NO_PROBLEM:
        raise macros.bad(f"LAST{of}PROBLEMID", f"is missing: pass $LAST{of}PROBLEMID$")
    return last


def _upper(payload: object) -> object:
    """Macro names as Nagios spells them, whichever case the sender used."""
    if not isinstance(payload, dict):
        return payload
    return {str(name).upper(): value for name, value in payload.items()}
