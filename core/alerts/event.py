"""One alert as every source is read into: Alertmanager, Grafana, Nagios, PagerDuty, the generic
format and Andon's own checks all say the same few things."""

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any

LONGEST_GROUP = 300  # a page's group is kept in a 300-character column
LONGEST_DESCRIPTION = 2_000  # what is kept of a sender's text: a page shows less
LONGEST_DETAIL = 500
LONGEST_URL = 3_000  # Slack's own limit for a link
MOST_LINKS = 10
MOST_DETAILS = 40


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class BadAlertError(Exception):
    """A payload that is not an alert of its source; ``field`` names what is wrong."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Facts:
    """What a sender adds for the person paged: the system it names, what the alert means, where
    to look (a runbook, a silence, a graph) and its own details — kept within bounds, shown as
    data."""

    origin: str | None = None  # the affected system as the sender names it (PagerDuty's source)
    description: str | None = None
    links: tuple[tuple[str, str], ...] = ()  # (label, url)
    details: tuple[tuple[str, str], ...] = ()  # (name, value), in the sender's order

    @classmethod
    def of(
        cls,
        *,
        origin: str | None = None,
        description: str | None = None,
        links: Iterable[tuple[str, str | None]] = (),
        details: Iterable[tuple[str, str]] = (),
    ) -> "Facts":
        """Facts cut to what is kept: a sender may say a lot, a page has room for little."""
        seen: set[str] = set()
        kept_links = []
        for label, url in links:
            if url and url not in seen and len(url) <= LONGEST_URL:
                seen.add(url)
                kept_links.append((label[:LONGEST_DETAIL], url))
        return cls(
            origin=origin[:LONGEST_DETAIL] if origin else None,
            description=description[:LONGEST_DESCRIPTION] if description else None,
            links=tuple(kept_links[:MOST_LINKS]),
            details=tuple(
                (name[:LONGEST_DETAIL], value[:LONGEST_DETAIL])
                for name, value in list(details)[:MOST_DETAILS]
            ),
        )

    def stored(self) -> dict[str, Any]:
        """As the page's JSON column keeps them."""
        return {
            "origin": self.origin,
            "description": self.description,
            "links": [list(pair) for pair in self.links],
            "details": [list(pair) for pair in self.details],
        }

    @classmethod
    def read(cls, stored: Mapping[str, Any] | None) -> "Facts":
        stored = stored or {}
        return cls(
            origin=stored.get("origin"),
            description=stored.get("description"),
            links=tuple((str(a), str(b)) for a, b in stored.get("links") or []),
            details=tuple((str(a), str(b)) for a, b in stored.get("details") or []),
        )


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
    summary: str  # one sentence for people; a resolution may leave it "" (nothing new to say)
    severity: str | None = None  # critical | major | minor | warning | info, as the source says
    value: str | None = None  # the value that crossed the line, when known
    url: str | None = None  # where to look
    labels: Mapping[str, str] = field(default_factory=dict)
    started_at: datetime | None = None  # when it fired, as the sender says
    group: str | None = None  # Alertmanager's groupKey, when the alert came in a group
    facts: Facts = field(default_factory=Facts)
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
