"""What a deploy run works with: the collaborators the composition root hands it once."""

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from core.checks.metric_reader import MetricReader
from core.clock import Clock
from core.config.file import AndonConfig
from core.deploy.bundle import Builder, Cut
from core.deploy.health import HealthProbe
from core.deploy.source import Source
from core.deploy.transport import Transport
from core.notifier import Notifier

Units = Callable[[], AbstractContextManager[tuple[Session, Notifier]]]


def _never() -> bool:
    return False


@dataclass
class Crew:
    """The collaborators a run needs; the composition root builds it once."""

    units: Units
    clock: Clock
    config: AndonConfig
    source: Source | None
    transport_for: Callable[[str], Transport]
    sleep: Callable[[float], None]
    cut: Cut  # the revision's tree on this machine (``bot/releases/bundle.py``)
    probe: HealthProbe  # asks a health URL (``bot/probes/health.py``)
    workdir: Path | None = None
    builder: Builder | None = None  # runs a build command (the build's jail)
    stopping: Callable[[], bool] = _never  # Andon is stopping: end at the next safe point
    metrics: MetricReader | None = None  # asks a watched metric (``bot/probes/metrics.py``)
