"""The alerting step's sections: who is paged, how alerts are routed, what Andon polls."""

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from core.config.values import (
    MONDAY_9AM,
    STRICT,
    Duration,
    HttpUrl,
    Name,
    Percent,
    TimeZoneName,
    UserId,
    Weekly,
)


class OncallConfig(BaseModel):
    """Who is paged, and how long a page waits for an acknowledgement."""

    model_config = STRICT
    rotation: list[UserId] = Field(min_length=1)
    handoff: Weekly = MONDAY_9AM
    timezone: TimeZoneName = "UTC"  # the zone of handoff
    ack_timeout: Duration = timedelta(minutes=5)
    repeat: Duration = timedelta(minutes=5)


class AlertRoute(BaseModel):
    """Alerts whose labels all match go this way; the first matching route wins."""

    model_config = STRICT
    match: dict[str, str] = Field(default_factory=dict)
    stop_line: bool = True


class AlertsConfig(BaseModel):
    """How incoming alerts are tied to deploys, how flapping is damped and storms contained."""

    model_config = STRICT
    watch: Duration = timedelta(minutes=30)  # alerts this soon after a deploy blame it
    flap_count: int | None = Field(default=None, ge=2)  # None: no flap detection
    flap_window: Duration = timedelta(hours=1)
    # New pages past these are held (recorded, told once): resolves and re-sends never count.
    max_new_pages_per_request: int = Field(default=20, ge=1)
    max_new_pages_per_minute: int = Field(default=60, ge=1)
    routes: list[AlertRoute] = Field(default_factory=list)
    # An alert of severity info pages but leaves the line running, unless a route says otherwise
    # or this is true.
    stop_line_on_info: bool = False


class Check(BaseModel):
    """A metric Andon polls itself; out of bounds for ``for`` long, it pages and stops the line."""

    model_config = ConfigDict(**STRICT, populate_by_name=True)
    name: Name
    url: HttpUrl | None = None  # a JSON document …
    json_path: str | None = Field(default=None, min_length=1)  # … and the number in it: a.b.0
    prometheus_url: HttpUrl | None = None  # or a Prometheus server …
    query: str | None = Field(default=None, min_length=1)  # … and an instant query
    environment: Name | None = None  # or the hosts of an environment …
    stat: Literal["load", "disk_used_percent", "memory_used_percent"] | None = None
    mount: str = "/"  # … for disk_used_percent
    min: float | None = None
    max: float | None = None
    # Only while a deploy watches it: worse than its baseline (or the hosts not yet switched) by
    # more than this share — less is worse (signups), more is worse (errors, latency).
    max_drop: Percent | None = None
    max_rise: Percent | None = None
    every: Duration = timedelta(seconds=60)
    for_: Duration | None = Field(default=None, alias="for")

    @field_validator("environment")
    @classmethod
    def _environment_is_defined(cls, name: str | None, info: ValidationInfo) -> str | None:
        known = (info.context or {}).get("environments")
        if name is not None and known is not None and name not in known:
            raise ValueError(f"{name!r} is not a defined environment")
        return name

    @model_validator(mode="after")
    def _one_source(self) -> "Check":
        sources = [
            key
            for key, value in (
                ("url", self.url),
                ("prometheus_url", self.prometheus_url),
                ("environment", self.environment),
            )
            if value is not None
        ]
        if len(sources) != 1:
            raise ValueError("give exactly one of url, prometheus_url or environment")
        if self.json_path is not None and self.url is None:
            raise ValueError("json_path needs url")
        for key, other in (("prometheus_url", "query"), ("environment", "stat")):
            if (getattr(self, key) is None) != (getattr(self, other) is None):
                raise ValueError(f"{key} and {other} go together")
        if (self.min, self.max, self.max_drop, self.max_rise) == (None, None, None, None):
            raise ValueError("give min, max, max_drop or max_rise")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    @property
    def polled(self) -> bool:
        """Whether Andon polls it all the time: only bounds do; ``max_drop`` and ``max_rise``
        judge a change against a baseline, which only a watch has."""
        return self.min is not None or self.max is not None
