"""One alert as every source is read into: Alertmanager, Grafana, Nagios, PagerDuty, the generic
format and Andon's own checks all say the same few things."""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property

LONGEST_GROUP = 300  # a page's group is kept in a 300-character column


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class BadAlertError(Exception):
    """A payload that is not an alert of its source; ``field`` names what is wrong."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class AlertEvent:
    """A firing or a resolution of one alert.

    ``key`` identifies the alert within its source across deliveries (Alertmanager's fingerprint,
    a Nagios problem id, a PagerDuty dedup key): while it fires it is one alert of one page,
    however often it is sent again. ``group`` is the sender's own grouping (Alertmanager's and
    Grafana's ``groupKey``): the firing alerts of one group are one page.
    """

    source: str  # alertmanager | grafana | nagios | pagerduty | generic | check
    key: str
    name: str  # what fired: alertname, service, check name
    status: AlertStatus
    summary: str  # one sentence for people
    severity: str | None = None  # critical | major | minor | warning | info, as the source says
    value: str | None = None  # the value that crossed the line, when known
    url: str | None = None  # where to look
    labels: Mapping[str, str] = field(default_factory=dict)
    started_at: datetime | None = None
    group: str | None = None  # Alertmanager's groupKey, when the alert came in a group
    sender: str | None = None  # who sent it, when a generic payload names it ("Datadog")

    @property
    def identity(self) -> str:
        return f"{self.source}:{self.key}"

    @cached_property
    def page_group(self) -> str:
        """The page this alert is one of: its sender's group, else every alert of its name —
        a storm of a thousand instances of one alert is one page that lists them."""
        by = f"group:{self.group}" if self.group else f"name:{self.name}"
        shown = f"{self.source}:{by}"
        if len(shown) <= LONGEST_GROUP:
            return shown
        digest = hashlib.sha256(shown.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{self.source}:sha256:{digest}"
