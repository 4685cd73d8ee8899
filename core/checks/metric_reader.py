"""A metric endpoint as a check asks it: one GET, its answer, or no answer at all.

``bot/probes/metrics.py`` answers with ``requests``; ``core/checks/readings.py`` makes a reading
of what came back.
"""

from collections.abc import Mapping
from typing import Any, Protocol


class UnreachableError(Exception):
    """An endpoint gave no answer; the message is the socket's own words, never the URL."""

    def __init__(self, cause: str, *, timed_out: bool = False) -> None:
        super().__init__(cause)
        self.timed_out = timed_out


class Answer(Protocol):
    """An endpoint's HTTP answer, as a check reads it."""

    @property
    def status(self) -> int: ...

    @property
    def ok(self) -> bool:
        """Neither a 4xx nor a 5xx status."""
        ...

    @property
    def content_type(self) -> str: ...

    def json(self) -> Any:
        """The body as JSON; raises ``ValueError`` when it is not JSON."""
        ...


class MetricReader(Protocol):
    def __call__(self, url: str, *, params: Mapping[str, str] | None, timeout: float) -> Answer:
        """One GET of a metric endpoint; raises ``UnreachableError`` when no answer comes."""
        ...
