"""What the five whys says in the stoppage's thread and in the channel."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.actor import Actor
from core.notifier import Notice
from core.whys.analysis import Analysis
from core.whys.investments import Investment


@dataclass(frozen=True)
class WhyAsked(Notice):
    analysis: Analysis
    level: int


@dataclass(frozen=True)
class AnswerEdited(Notice):
    level: int
    text: str
    by: Actor  # who edited it: a mention they typed in Slack stays a mention


@dataclass(frozen=True)
class InvestmentsAsked(Notice):
    """After the fifth why: one proportional investment per level, in the thread or the form."""

    analysis: Analysis


@dataclass(frozen=True)
class InvestmentsNoted(Notice):
    noted: tuple[Investment, ...]
    analysis: Analysis


@dataclass(frozen=True)
class NotedEarly(Notice):
    """Investments typed before the whys reached their levels: kept, and said to be kept."""

    noted: tuple[Investment, ...]
    analysis: Analysis


@dataclass(frozen=True)
class NotUnderstood(Notice):
    """A reply that tried to say something the analysis cannot take; it says what would work."""

    reason: str


@dataclass(frozen=True)
class WhysDone(Notice):
    """The five whys and the investments, in one summary: a reply in the thread that is also
    sent to the channel (Slack's "Also send to channel"), not a second post."""

    analysis: Analysis
    repeat_of: int | None


@dataclass(frozen=True)
class MeetingScheduled(Notice):
    at: datetime
    by: Actor


@dataclass(frozen=True)
class MeetingNow(Notice):
    analysis: Analysis


@dataclass(frozen=True)
class StillStopped(Notice):
    """The nag: how long the line has been stopped, what waits, what the analysis lacks."""

    stopped_for: timedelta
    commits_waiting: int
    analysis: Analysis
