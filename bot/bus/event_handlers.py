"""The events' handlers: thread replies, webhook deliveries, the commit check, the scheduler's
rounds and the courier's word about a page. Each calls the rule in ``core`` that decides it."""

import logging

from sqlmodel import Session, col, select

from bot.bus.engine import Call, Work
from bot.bus.events import (
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
from bot.outbox.message import MessageKind
from core import audit, review
from core.alerts import escalation, oncall, opening, paging, storm, tested, unreachable
from core.alerts.paging import AlertsRecorded
from core.audit import Outcome
from core.ci import commits as ci_commits
from core.ci import results as ci_results
from core.ci.report import BuildStatus
from core.ci.results import Duplicate, Recorded
from core.deliveries import first_time
from core.gate import decide as gate
from core.gate.decide import GateAnswer
from core.whys import actions as whys_actions
from core.whys import conversation, edits
from core.whys.due import tick as whys_tick
from core.whys.heard import Heard
from storage.tables import OutboxMessage, ThreadReply

log = logging.getLogger(__name__)


def replied(event: Replied, work: Work) -> Heard:
    """A reply in a stoppage's thread feeds its five whys; a file with no words is told how to
    answer; a reply in any other thread is nothing to Andon."""
    stoppage_id = _stoppage_of(work.session, event.place)
    if stoppage_id is None:
        return Heard()
    if event.files and not event.text.strip():
        return conversation.wordless(
            work.session,
            notifier=work.notifier,
            clock=work.clock,
            stoppage_id=stoppage_id,
            actor=work.actor,
        )
    return conversation.hear(
        work.session,
        notifier=work.notifier,
        clock=work.clock,
        stoppage_id=stoppage_id,
        actor=work.actor,
        text=event.text,
        timezone=work.config.team_timezone,
        message=event.message,
    )


def reply_edited(event: ReplyEdited, work: Work) -> Heard:
    """An edited reply that gave an answer of the five whys: the answer follows the edit."""
    stoppage_id = _stoppage_of(work.session, event.place)
    if stoppage_id is None:
        return Heard()
    return edits.edited(
        work.session,
        notifier=work.notifier,
        clock=work.clock,
        stoppage_id=stoppage_id,
        actor=work.actor,
        message=event.message,
        text=event.text,
    )


def reply_pinned(event: ReplyPinned, work: Work) -> Heard:
    """The thread's pin on a reply makes it the open why's answer."""
    stoppage_id = work.session.exec(
        select(ThreadReply.stoppage_id).where(ThreadReply.message == event.message)
    ).first()
    if stoppage_id is None:
        return Heard()
    return conversation.adopt(
        work.session,
        notifier=work.notifier,
        clock=work.clock,
        stoppage_id=stoppage_id,
        message=event.message,
        actor=work.actor,
    )


def build_finished(event: BuildFinished, call: Call) -> Recorded | Duplicate:
    """A build result; a redelivery changes nothing. The commit and its author are looked up
    before the unit of work opens: a slow repository or chat never holds a lock. A result the
    line does not react to is stored in a unit of rows alone: no session, no outbox."""
    engine = call.engine
    report = ci_commits.completed(event.report, commits=engine.commits)
    source, key = f"ci:{report.provider}", event.delivery
    if not ci_results.reacted_to(report, config=engine.config):
        with engine.database.adding() as rows:
            if key and not first_time(rows, clock=engine.clock, source=source, key=key):
                return Duplicate()
            recorded = ci_results.store(rows, clock=engine.clock, report=report)
        if engine.deployer is not None and report.status == BuildStatus.PASSED:
            engine.deployer.nudge()  # auto-deploy need not wait for a tick
        return recorded
    author = ci_results.author_of(report, config=engine.config, directory=engine.directory)
    with call.unit() as work:
        if key and not first_time(work.session, clock=work.clock, source=source, key=key):
            return Duplicate()
        recorded = ci_results.record(
            work.session,
            notifier=work.notifier,
            clock=work.clock,
            config=work.config,
            report=report,
            author=author,
        )
        if engine.deployer is not None and report.status == BuildStatus.PASSED:
            work.after_commit(engine.deployer.nudge)  # auto-deploy need not wait for a tick
    return recorded


def alerts_delivered(event: AlertsDelivered, call: Call) -> AlertsRecorded:
    """Alerts in short units of work: a storm never holds the writer long, and a retried
    delivery changes nothing twice."""
    engine = call.engine
    return paging.record(
        units=engine.units,
        clock=engine.clock,
        config=engine.config,
        events=event.events,
        source=event.source,
    )


def sender_test(event: SenderTest, work: Work) -> None:
    """A sender's test notification: the channel hears it arrived; nobody is paged."""
    tested.heard(
        work.session,
        notifier=work.notifier,
        clock=work.clock,
        sender=event.sender,
        source=event.source,
    )


def push_asked(event: PushAsked, work: Work) -> GateAnswer:
    """The git hook's question; an override is announced in the same unit of work."""
    return gate.check(
        work.session, notifier=work.notifier, clock=work.clock, config=work.config, push=event.push
    )


def review_moved(event: ReviewMoved, work: Work) -> None:
    """A pull/merge request's head; the forge loop publishes the line on it."""
    moved = event.event
    review.track(
        work.session,
        clock=work.clock,
        forge=moved.forge,
        project=moved.project,
        number=moved.number,
        head_sha=moved.head_sha,
        open=moved.open,
    )
    tracked = f"tracked {moved.project}#{moved.number} at {moved.head_sha[:7]}"
    audit.delivered(
        work.session,
        clock=work.clock,
        source=f"ci:{moved.forge}",
        outcome=Outcome.OK,
        detail=tracked + ("" if moved.open else " (closed)"),
    )


def webhook_noted(event: WebhookNoted, work: Work) -> None:
    """A delivery that changes nothing still leaves its audit row."""
    audit.delivered(
        work.session,
        clock=work.clock,
        source=event.source,
        outcome=event.outcome,
        detail=event.detail,
    )


def pages_due(_: PagesDue, work: Work) -> None:
    """Repeats and escalations that are due, storms caught up, and on-call handoffs."""
    session, notifier, clock, config = work.session, work.notifier, work.clock, work.config
    escalation.due(session, notifier=notifier, clock=clock, config=config)
    storm.catch_up(session, notifier=notifier, clock=clock, alerts=opening.alerts_config(config))
    oncall.hand_over(session, config=config.oncall, clock=clock, notifier=notifier)


def whys_due(_: WhysDue, work: Work) -> None:
    """Meeting reminders, nags of a long stop, overdue action items."""
    session, notifier, clock, config = work.session, work.notifier, work.clock, work.config
    whys_tick(session, notifier=notifier, clock=clock, config=config)
    whys_actions.overdue(session, notifier=notifier, clock=clock, timezone=config.team_timezone)


def page_undelivered(event: PageUndelivered, work: Work) -> None:
    """The page goes on to the next person and the channel hears it, in one unit of work."""
    now_with = unreachable.not_delivered(
        work.session,
        notifier=work.notifier,
        clock=work.clock,
        config=work.config,
        page_id=event.page_id,
        user=event.user,
        reason=event.reason,
    )
    work.after_commit(
        lambda: log.warning(
            "page #%s could not reach %s (%s): now with %s",
            event.page_id,
            event.user,
            event.reason,
            now_with or "the channel",
        )
    )


def _stoppage_of(session: Session, place: ThreadPlace) -> int | None:
    """The stoppage whose thread this is: its root is the message Slack's ``thread_ts`` names,
    never one of that message's updates (which carry its ts too, in any order on disk)."""
    if place.message_id is not None:
        return conversation.stoppage_by_thread(session, place.message_id)
    root = session.exec(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.channel == place.channel,
            OutboxMessage.ts == place.thread_ts,
            OutboxMessage.kind != MessageKind.UPDATE,  # an update carries its message's ts too
        )
        .order_by(col(OutboxMessage.id))
    ).first()
    return conversation.stoppage_by_thread(session, root) if root is not None else None
