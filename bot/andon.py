"""The running Andon as every front sees it: what it is made of, and a door for each kind of
message a front brings. Every door hands its message to the bus (``bot.bus``): one table of
handlers, one unit of work and one error handler for commands and events alike."""

import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.bus.delivery import Delivery, Repeat
from bot.bus.dispatch import Bus
from bot.bus.events import (
    SCHEDULER,
    AlertsDelivered,
    BuildFinished,
    PagesDue,
    PageUndelivered,
    PushAsked,
    Replied,
    ReplyEdited,
    ReplyPinned,
    ReviewMoved,
    SenderTest,
    ThreadPlace,
    WebhookNoted,
    WhysDue,
)
from bot.bus.unit import Units
from bot.intents.typed import Intent
from bot.outbox.courier import Courier, LostPage
from bot.outbox.notifier import Outbox
from bot.render.reply import Result
from core.actor import Actor
from core.alerts.event import AlertEvent
from core.alerts.paging import AlertsRecorded
from core.alerts.telling import source_actor
from core.alerts.unreachable import PAGING
from core.audit import Outcome
from core.ci.commits import Commits
from core.ci.report import BuildReport
from core.ci.results import Duplicate, Recorded, ci_actor
from core.clock import Clock
from core.config.file import AndonConfig
from core.gate.decide import GateAnswer
from core.gate.push import Push
from core.people import Directory
from core.review import ReviewEvent
from core.whys.conversation import PIN
from core.whys.heard import Heard
from storage.database import Database

if TYPE_CHECKING:
    from bot.slack.homes import Homes
    from bot.workers.deploys import Deployer
    from bot.workers.flag_watches import FlagWatcher
    from bot.workers.jail import Jail


@dataclass
class Andon:
    database: Database
    config: AndonConfig
    clock: Clock
    courier: Courier
    channel: str
    deployer: "Deployer | None" = None
    flag_watcher: "FlagWatcher | None" = None  # flag ramps under watch (``watch = [...]``)
    homes: "Homes | None" = None  # Slack's Home tabs; None with the terminal as the channel
    directory: Directory | None = None  # the chat's people, to name a commit's author
    jail: "Jail | None" = None  # where code from the repository runs (builds, the CI runner)
    commits: Commits | None = None  # the repository, for a commit its CI result does not describe

    def __post_init__(self) -> None:
        self.units = Units(
            self.database, channel=self.channel, clock=self.clock, settled=self._settled
        )
        self.bus = Bus(self)

    def unit_of_work(self) -> AbstractContextManager[tuple[Session, Outbox]]:
        """A transaction and a notifier bound to it, for work outside the bus (a digest post)."""
        return self.units()

    def _settled(self, queued: bool, homes_stale: bool) -> None:
        """A unit committed: the courier is woken if it queued messages, the Home publisher if
        it marked Homes stale (its own poll finds what other replicas marked)."""
        if queued:
            self.courier.nudge()
        if homes_stale and self.homes is not None:
            self.homes.nudge()

    # --- the doors ----------------------------------------------------------------------------

    def execute(
        self,
        intent: Intent,
        actor: Actor,
        *,
        answered: threading.Event | None = None,
        delivery: Delivery | None = None,
    ) -> Result | Repeat:
        """One command for one person, from any front; a failure is answered with its error id.
        ``delivery``: the request's key when its sender may send it again (``Repeat`` when a
        copy of it was handled already)."""
        return self.bus.handle(intent, actor, answered=answered, delivery=delivery)

    def hear(
        self,
        place: ThreadPlace,
        actor: Actor,
        text: str,
        *,
        message: str | None = None,
        files: bool = False,
        delivery: Delivery | None = None,
    ) -> Heard | Repeat:
        """A person's reply in a thread; ``message`` is its identity in the chat (Slack's
        ``ts``), so a later edit of it finds its answer."""
        return self.bus.handle(Replied(place, text, message, files), actor, delivery=delivery)

    def adopt(
        self, actor: Actor, *, message: str, reaction: str, delivery: Delivery | None = None
    ) -> Heard | Repeat:
        """A reaction on a reply; any but the thread's pin is nothing to Andon."""
        if reaction != PIN:
            return Heard()
        return self.bus.handle(ReplyPinned(message), actor, delivery=delivery)

    def hear_edit(
        self,
        place: ThreadPlace,
        actor: Actor,
        text: str,
        *,
        message: str,
        delivery: Delivery | None = None,
    ) -> Heard | Repeat:
        """A reply edited in a thread: if it gave an answer of the five whys, the answer follows."""
        edited = ReplyEdited(place, text, message)
        return self.bus.handle(edited, actor, delivery=delivery)

    def record_ci(self, report: BuildReport, *, delivery: str | None) -> Recorded | Duplicate:
        """A build result from a webhook or the local runner; a redelivery changes nothing."""
        return self.bus.handle(BuildFinished(report, delivery), ci_actor(report))

    def record_alerts(self, events: Sequence[AlertEvent], *, source: str) -> AlertsRecorded:
        """Alerts from a webhook or a check."""
        return self.bus.handle(AlertsDelivered(events, source), source_actor(source))

    def sender_tested(self, sender: str, *, source: str) -> None:
        """A sender's test notification: the channel hears it arrived; nobody is paged."""
        self.bus.handle(SenderTest(sender, source), source_actor(source))

    def check_push(self, push: Push) -> GateAnswer:
        """The git hook's question, over HTTP."""
        return self.bus.handle(PushAsked(push), Actor(push.pusher, push.pusher, "git"))

    def track_review(self, event: ReviewEvent) -> None:
        """A pull/merge request's head from a webhook."""
        source = f"ci:{event.forge}"
        self.bus.handle(ReviewMoved(event), Actor(id=source, name=source, via="http"))

    def note_webhook(self, *, source: str, outcome: Outcome, detail: str) -> None:
        """Authenticated deliveries that change nothing still leave their audit row."""
        actor = Actor(id=source, name=source, via="http")
        self.bus.handle(WebhookNoted(source, outcome, detail), actor)

    def tick_pages(self) -> None:
        """The scheduler's call: repeats and escalations that are due, and on-call handoffs."""
        self.bus.handle(PagesDue(), SCHEDULER)

    def tick_whys(self) -> None:
        """The scheduler's call: meeting reminders, nags of a long stop, overdue action items."""
        self.bus.handle(WhysDue(), SCHEDULER)

    def page_not_delivered(self, lost: LostPage) -> None:
        """The courier's word that a page's DM could not be delivered."""
        self.bus.handle(PageUndelivered(lost.page_id, lost.user, lost.reason), PAGING)
