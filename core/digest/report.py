"""The weekly digest: every section for one week beside the week before, and eight weeks' trend.

Every section is always there — a quiet week says "none" rather than leaving a gap — so the
team reads the same digest every Monday and sees what changed.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlmodel import Session

from core import audit
from core.actor import Actor
from core.audit import Outcome
from core.clock import Clock
from core.config.file import AndonConfig
from core.digest.builds import CiWeek, ci_week
from core.digest.dora import Dora, deploy_counts, dora
from core.digest.investments import LISTED, Investments, created_counts, investments
from core.digest.pages import PagerWeek, pager_week
from core.digest.releases import release_count
from core.digest.stoppages import LineWeek, line_week, opened_counts
from core.digest.trend import WeekTotals, first_record
from core.digest.week import Week, WeekError
from core.digest.window import Window
from core.notifier import Notice
from core.refusal import Refusal

SHOW_ACTION = "digest"  # the audit log's name for ``/digest``
TREND_WEEKS = 8
DEFAULT_WATCH = timedelta(minutes=30)


@dataclass(frozen=True)
class WeekFigures:
    """One column of the digest."""

    week: str
    start: datetime
    end: datetime  # the week's end, or now while it runs
    investments: Investments
    line: LineWeek
    dora: Dora
    pages: PagerWeek
    ci: CiWeek
    releases: int = 0  # flags turned on or up: a release is a deploy too


@dataclass(frozen=True)
class Digest:
    week: str
    timezone: str
    complete: bool  # False while the week is still running
    environments: tuple[str, ...]
    this: WeekFigures
    before: WeekFigures
    trend: tuple[WeekTotals, ...]  # oldest first, ending with this week
    since: str | None = None  # the week of Andon's first record: the trend before it is unknown


@dataclass(frozen=True)
class DigestNotice(Notice):
    """The digest as posted to the channel, its chart attached."""

    digest: Digest


def build(
    session: Session,
    *,
    week: Week,
    config: AndonConfig,
    now: datetime,
    listed: int | None = LISTED,
) -> Digest:
    """Compute the digest of ``week`` as it stands at ``now``, naming ``listed`` of its overdue
    items (``None``: all of them, and of the week before, as an export shows them)."""
    environments = production(config)
    watch = config.alerts.watch if config.alerts is not None else DEFAULT_WATCH
    budget = config.ci.budget if config.ci is not None else None

    def figures(of: Week, listed: int | None) -> WeekFigures:
        window = Window.of(of, now)
        return WeekFigures(
            week=of.label,
            start=window.start,
            end=window.end,
            investments=investments(session, window, listed=listed),
            line=line_week(session, window, now=now),
            dora=dora(session, window, environments=environments, watch=watch),
            pages=pager_week(session, window),
            ci=ci_week(session, window, budget=budget),
            releases=release_count(session, window, environments=environments),
        )

    return Digest(
        week=week.label,
        timezone=week.timezone,
        complete=week.end <= now,
        environments=environments,
        this=figures(week, listed),
        before=figures(week.previous(), None if listed is None else 0),
        trend=trend(session, week=week, now=now, environments=environments),
        since=_since(session, week),
    )


def show(
    session: Session,
    *,
    config: AndonConfig,
    clock: Clock,
    actor: Actor,
    which: str,
    listed: int | None = LISTED,
) -> Digest | Refusal:
    """``/digest [this|last]`` and ``andon digest --week``: read-only, audited like the rest."""
    now = clock.now()
    record = partial(audit.record, session, clock=clock, actor=actor, action=SHOW_ACTION)
    try:
        week = Week.parse(which, now=now, timezone=config.team_timezone)
    except WeekError as wrong:
        record(outcome=Outcome.REFUSED, detail=which, message=str(wrong))
        return Refusal(str(wrong))
    record(outcome=Outcome.OK, detail=week.label)
    return build(session, week=week, config=config, now=now, listed=listed)


def trend(
    session: Session, *, week: Week, now: datetime, environments: tuple[str, ...]
) -> tuple[WeekTotals, ...]:
    weeks = [week.previous(back) for back in range(TREND_WEEKS - 1, -1, -1)]
    windows = [Window.of(each, now) for each in weeks]
    columns = zip(
        weeks,
        deploy_counts(session, windows, environments=environments),
        opened_counts(session, windows),
        created_counts(session, windows),
        strict=True,
    )
    return tuple(
        WeekTotals(week=each.label, deploys=deploys, stoppages=stoppages, investments=items)
        for each, deploys, stoppages, items in columns
    )


def _since(session: Session, week: Week) -> str | None:
    first = first_record(session)
    return None if first is None else Week.containing(first, week.timezone).label


def production(config: AndonConfig) -> tuple[str, ...]:
    """The environments at the end of a promotion chain; none configured means every deploy."""
    promoted = {env.after for env in config.environments.values() if env.after}
    return tuple(sorted(name for name in config.environments if name not in promoted))
