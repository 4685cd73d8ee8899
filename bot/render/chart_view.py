"""What the digest's chart shows, decided before anything is drawn.

The drawing (bot/render/chart.py) only places what this model says: which weeks, which of them
is still running, the title, and the two value axes. Deploys get their own axis because a busy
team ships ~150 a week while it stops the line twice: on one axis the stoppages and
investments the chart exists to show would be slivers.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from core.digest.report import Digest
from core.digest.trend import WeekTotals

SUBJECT = "Stoppages, investments and deploys"


@dataclass(frozen=True)
class ChartWeek:
    """One week's column: ``partial`` while the week is still running (its bars are so far)."""

    week: str  # "2026-W47"
    deploys: int
    stoppages: int
    investments: int
    partial: bool = False

    @property
    def label(self) -> str:
        """ "2026-W47" reads as "W47" under its bars: the year is in the title."""
        return self.week.rsplit("-", 1)[-1]


@dataclass(frozen=True)
class Axis:
    """A value axis: a round top and the step between its grid lines (counts: whole numbers)."""

    top: int
    step: int

    @classmethod
    def fitting(cls, values: Sequence[int]) -> "Axis":
        most = max(values, default=0)
        step = 1
        for candidate in (base * 10**power for power in range(7) for base in (1, 2, 5)):
            step = candidate
            if most <= candidate * 4:
                break
        return cls(top=max(step * 4, -(-most // step) * step), step=step)


@dataclass(frozen=True)
class ChartView:
    title: str
    subtitle: str
    weeks: tuple[ChartWeek, ...]
    counts: Axis  # stoppages and investments
    deploys: Axis

    @property
    def partial(self) -> ChartWeek | None:
        """The week still running, if the chart shows one."""
        return next((week for week in self.weeks if week.partial), None)


def chart_view(digest: Digest) -> ChartView:
    """The digest's weeks from Andon's first record on, the running week marked as partial."""
    return view_of(
        digest.trend, since=digest.since, complete=digest.complete, timezone=digest.timezone
    )


def view_of(
    trend: Sequence[WeekTotals], *, since: str | None, complete: bool, timezone: str
) -> ChartView:
    """``trend`` ends with the digest's week; ``since`` is the week of Andon's first record."""
    last = trend[-1].week if trend else ""
    shown = [w for w in trend if since is not None and w.week >= since]
    if since is None:
        shown = list(trend[-1:])  # nothing recorded yet: the digest's own week
    weeks = tuple(_week(w, partial=w.week == last and not complete) for w in shown)
    return ChartView(
        title=f"{SUBJECT}: {_span(weeks, asked=last)}",  # the font has no dash
        subtitle=_subtitle(weeks, timezone=timezone),
        weeks=weeks,
        counts=Axis.fitting([n for w in weeks for n in (w.stoppages, w.investments)]),
        deploys=Axis.fitting([w.deploys for w in weeks]),
    )


def _week(totals: WeekTotals, *, partial: bool) -> ChartWeek:
    return ChartWeek(
        week=totals.week,
        deploys=totals.deploys,
        stoppages=totals.stoppages,
        investments=totals.investments,
        partial=partial,
    )


def _span(weeks: Sequence[ChartWeek], *, asked: str) -> str:
    if not weeks:
        return f"nothing recorded by {asked}"
    first, last = weeks[0].week, weeks[-1].week
    if first == last:
        return f"week {first}"
    same_year = first[:4] == last[:4]
    return f"weeks {first} to {weeks[-1].label if same_year else last}"


def _subtitle(weeks: Sequence[ChartWeek], *, timezone: str) -> str:
    said = f"Counted per week, Monday to Sunday ({timezone})"
    running = next((w for w in weeks if w.partial), None)
    if running is not None:
        said += f"; {running.label} is still running: its bars are so far"
    return said
