"""What happens to Andon that nobody typed as a command: a reply in a stoppage's thread, a
webhook's delivery, a push the commit check is asked about, a round of the scheduler. Each is a
message the bus hands its handler, as it does a command's intent (``bot.intents.typed``); its
repr is what the log and a failure's audit row say of it, so bulky ones say only what identifies
them."""

from collections.abc import Sequence
from dataclasses import dataclass

from core.actor import Actor
from core.alerts.event import AlertEvent
from core.audit import Outcome
from core.ci.report import BuildReport
from core.gate.push import Push
from core.review import ReviewEvent

SCHEDULER = Actor(id="andon:scheduler", name="scheduler", via="scheduler")


@dataclass(frozen=True)
class ThreadPlace:
    """Where a thread reply was written: Slack's channel and thread ``ts``, or the terminal's
    message number."""

    channel: str | None = None
    thread_ts: str | None = None
    message_id: int | None = None


@dataclass(frozen=True)
class Replied:
    """A person's reply in a thread; ``message`` is its identity in the chat (Slack's ``ts``)."""

    place: ThreadPlace
    text: str
    message: str | None = None
    files: bool = False


@dataclass(frozen=True)
class ReplyEdited:
    place: ThreadPlace
    text: str
    message: str


@dataclass(frozen=True)
class ReplyPinned:
    message: str


@dataclass(frozen=True, repr=False)
class BuildFinished:
    report: BuildReport
    delivery: str | None

    def __repr__(self) -> str:
        report = self.report
        said = f"{report.provider} {report.pipeline} {report.status} {report.revision[:12]}"
        return f"BuildFinished({said!r}, delivery={self.delivery!r})"


@dataclass(frozen=True, repr=False)
class AlertsDelivered:
    events: Sequence[AlertEvent]
    source: str

    def __repr__(self) -> str:
        return f"AlertsDelivered({len(self.events)} alert(s), source={self.source!r})"


@dataclass(frozen=True)
class SenderTest:
    """A sender's test notification (Grafana's *Test* button): no alert."""

    sender: str
    source: str


@dataclass(frozen=True, repr=False)
class PushAsked:
    push: Push

    def __repr__(self) -> str:
        refs = " ".join(update.ref for update in self.push.refs[:5])
        return f"PushAsked({refs!r}, {len(self.push.commits)} commit(s))"


@dataclass(frozen=True)
class ReviewMoved:
    """A pull or merge request opened, moved to a new head, or closed."""

    event: ReviewEvent


@dataclass(frozen=True)
class WebhookNoted:
    """An authenticated delivery that changes nothing (ignored, or a duplicate)."""

    source: str
    outcome: Outcome
    detail: str


@dataclass(frozen=True)
class PagesDue:
    """The scheduler's round: repeats and escalations that are due, and on-call handoffs."""


@dataclass(frozen=True)
class WhysDue:
    """The scheduler's round: meeting reminders, nags of a long stop, overdue action items."""


@dataclass(frozen=True)
class PageUndelivered:
    """The courier's word that a page's DM could not be delivered to ``user``."""

    page_id: int
    user: str
    reason: str
