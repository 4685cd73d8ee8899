"""The running Andon as every front sees it: one way to execute a command, one error handler."""

import logging
import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from bot.commands import (
    AckPage,
    ActionDone,
    ApproveDeploy,
    Deploy,
    Help,
    Intent,
    OverrideOncall,
    ResolvePage,
    Rollback,
    ScheduleWhys,
    SetSeverity,
    ShowActions,
    ShowChecks,
    ShowCi,
    ShowDeploys,
    ShowDigest,
    ShowLine,
    ShowOncall,
    ShowWhys,
    StartLine,
    StopLine,
)
from bot.courier import Courier, LostPage
from bot.outbox import Outbox
from bot.render import notice
from bot.render.reply import Failure, Result
from core import audit, line, oncall, review
from core.actor import Actor
from core.alerts import escalation, opening, paging, storm, tested, unreachable
from core.alerts.event import AlertEvent
from core.alerts.paging import AlertsRecorded
from core.audit import Outcome
from core.checks.judge import overview as check_overview
from core.ci import commits as ci_commits
from core.ci import results as ci_results
from core.ci import status as ci_status
from core.ci.commits import Commits
from core.ci.report import BuildReport, BuildStatus
from core.ci.results import Duplicate, Recorded
from core.clock import Clock
from core.config import AndonConfig
from core.deliveries import first_time
from core.deploy import request as deploy_request
from core.deploy import status as deploy_status
from core.deploy.request import Accepted, DeployWish, RollbackWish
from core.digest import report as digest_report
from core.gate import decide as gate
from core.gate.decide import GateAnswer
from core.gate.push import Push
from core.people import Directory
from core.refusal import Refusal
from core.review import ReviewEvent
from core.whys import actions as whys_actions
from core.whys import conversation, edits
from core.whys import due as whys_due
from core.whys import rule as whys_rule
from core.whys.heard import Heard
from storage.database import Database
from storage.tables import OutboxMessage, ThreadReply

if TYPE_CHECKING:
    from bot.deploys import Deployer
    from bot.homes import Homes
    from bot.jail import Jail

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ThreadPlace:
    """Where a thread reply was written: Slack's channel and thread ``ts``, or the terminal's
    message number."""

    channel: str | None = None
    thread_ts: str | None = None
    message_id: int | None = None


@dataclass
class Andon:
    database: Database
    config: AndonConfig
    clock: Clock
    courier: Courier
    channel: str
    deployer: "Deployer | None" = None
    homes: "Homes | None" = None  # Slack's Home tabs; None with the terminal as the channel
    directory: Directory | None = None  # the chat's people, to name a commit's author
    jail: "Jail | None" = None  # where code from the repository runs (builds, the CI runner)
    commits: Commits | None = None  # the repository, for a commit its CI result does not describe

    @contextmanager
    def unit_of_work(self) -> Iterator[tuple[Session, Outbox]]:
        """A transaction and a notifier bound to it; the courier is woken once it commits, and
        the Home publisher looks for Homes the change made stale."""
        with self.database.writing() as session:
            outbox = Outbox(session, channel=self.channel, clock=self.clock, render=notice)
            yield session, outbox
        if outbox.queued:
            self.courier.nudge()
        if self.homes is not None:
            self.homes.nudge()

    def execute(
        self, intent: Intent, actor: Actor, *, answered: threading.Event | None = None
    ) -> Result:
        """Run one command for one person; whatever happens, the audit log has a row for it.

        A front that answers the person itself passes ``answered`` and sets it once it has: a
        deploy the command started waits for it, so the private reply comes before the
        deploy's channel messages."""
        try:
            if isinstance(intent, ShowDeploys):
                return self._deploy_status(intent, actor)
            with self.unit_of_work() as (session, outbox):
                result = self._run(intent, actor, session, outbox)
            if isinstance(result, Accepted) and result.runs_now and self.deployer is not None:
                self.deployer.launch(result.deploy.id, after=answered)
            return result
        except Exception:
            error_id = secrets.token_hex(4)
            log.exception("error %s while running %s for %s", error_id, intent, actor.id)
            self._record_failure(intent, actor, error_id)
            return Failure(error_id)

    def record_ci(self, report: BuildReport, *, delivery: str | None) -> Recorded | Duplicate:
        """A build result from a webhook or the local runner; a redelivery changes nothing.

        The commit and its author are looked up before the transaction opens: a slow
        repository or chat never holds a lock."""
        report = ci_commits.completed(report, commits=self.commits)
        author = ci_results.author_of(report, config=self.config, directory=self.directory)
        with self.unit_of_work() as (session, outbox):
            source = f"ci:{report.provider}"
            if delivery and not first_time(session, clock=self.clock, source=source, key=delivery):
                return Duplicate()
            recorded = ci_results.record(
                session,
                notifier=outbox,
                clock=self.clock,
                config=self.config,
                report=report,
                author=author,
            )
        if self.deployer is not None and report.status == BuildStatus.PASSED:
            self.deployer.nudge()  # auto-deploy need not wait for the next tick
        return recorded

    def record_alerts(self, events: Sequence[AlertEvent], *, source: str) -> AlertsRecorded:
        """Alerts from a webhook or a check, in short transactions: a storm never holds the
        writer long, and a retried delivery changes nothing twice."""
        return paging.record(
            units=self.unit_of_work,
            clock=self.clock,
            config=self.config,
            events=events,
            source=source,
        )

    def sender_tested(self, sender: str, *, source: str) -> None:
        """A sender's test notification: the channel hears it arrived; nobody is paged."""
        with self.unit_of_work() as (session, outbox):
            tested.heard(session, notifier=outbox, clock=self.clock, sender=sender, source=source)

    def tick_pages(self) -> None:
        """The scheduler's call: repeats and escalations that are due, and on-call handoffs."""
        with self.unit_of_work() as (session, outbox):
            escalation.due(session, notifier=outbox, clock=self.clock, config=self.config)
            storm.catch_up(
                session,
                notifier=outbox,
                clock=self.clock,
                alerts=opening.alerts_config(self.config),
            )
            oncall.hand_over(session, config=self.config.oncall, clock=self.clock, notifier=outbox)

    def page_not_delivered(self, lost: LostPage) -> None:
        """The courier's word that a page's DM could not be delivered: the page goes on to the
        next person and the channel hears it, in one transaction."""
        with self.unit_of_work() as (session, outbox):
            now_with = unreachable.not_delivered(
                session,
                notifier=outbox,
                clock=self.clock,
                config=self.config,
                page_id=lost.page_id,
                user=lost.user,
                reason=lost.reason,
            )
        log.warning(
            "page #%s could not reach %s (%s): now with %s",
            lost.page_id,
            lost.user,
            lost.reason,
            now_with or "the channel",
        )

    def tick_whys(self) -> None:
        """The scheduler's call: meeting reminders, nags of a long stop, overdue action items."""
        with self.unit_of_work() as (session, outbox):
            whys_due.tick(session, notifier=outbox, clock=self.clock, config=self.config)
            whys_actions.overdue(
                session, notifier=outbox, clock=self.clock, timezone=self.config.team_timezone
            )

    def hear(
        self,
        place: ThreadPlace,
        actor: Actor,
        text: str,
        *,
        message: str | None = None,
        files: bool = False,
    ) -> Heard:
        """A person's reply in a thread: if it is a stoppage's thread, the five whys hears it.
        ``message`` is the reply's identity in the chat (Slack's ``ts``), so a later edit of it
        finds its answer; a file with no words gets told how to answer."""
        with self.unit_of_work() as (session, outbox):
            stoppage_id = _stoppage_of(session, place)
            if stoppage_id is None:
                return Heard()
            if files and not text.strip():
                return conversation.wordless(
                    session, notifier=outbox, clock=self.clock, stoppage_id=stoppage_id, actor=actor
                )
            return conversation.hear(
                session,
                notifier=outbox,
                clock=self.clock,
                stoppage_id=stoppage_id,
                actor=actor,
                text=text,
                timezone=self.config.team_timezone,
                message=message,
            )

    def adopt(self, actor: Actor, *, message: str, reaction: str) -> Heard:
        """A reaction on a reply: the thread's pin makes that reply the open why's answer."""
        if reaction != conversation.PIN:
            return Heard()
        with self.unit_of_work() as (session, outbox):
            stoppage_id = session.exec(
                select(ThreadReply.stoppage_id).where(ThreadReply.message == message)
            ).first()
            if stoppage_id is None:
                return Heard()
            heard = conversation.adopt(
                session, notifier=outbox, clock=self.clock, stoppage_id=stoppage_id, message=message
            )
            if heard.answered is not None:
                audit.record(
                    session,
                    clock=self.clock,
                    actor=actor,
                    action="whys.pin",
                    outcome=Outcome.OK,
                    detail=f"stoppage #{stoppage_id}: a reply pinned as answer {heard.answered}",
                )
            return heard

    def hear_edit(self, place: ThreadPlace, actor: Actor, text: str, *, message: str) -> Heard:
        """A reply edited in a thread: if it gave an answer of the five whys, the answer follows."""
        with self.unit_of_work() as (session, outbox):
            stoppage_id = _stoppage_of(session, place)
            if stoppage_id is None:
                return Heard()
            return edits.edited(
                session,
                notifier=outbox,
                clock=self.clock,
                stoppage_id=stoppage_id,
                actor=actor,
                message=message,
                text=text,
            )

    def check_push(self, push: Push) -> GateAnswer:
        """The git hook's question; an override is announced in the same transaction."""
        with self.unit_of_work() as (session, outbox):
            return gate.check(
                session, notifier=outbox, clock=self.clock, config=self.config, push=push
            )

    def track_review(self, event: ReviewEvent) -> None:
        """A pull/merge request's head from a webhook; the forge loop publishes the line on it."""
        with self.database.writing() as session:
            review.track(
                session,
                clock=self.clock,
                forge=event.forge,
                project=event.project,
                number=event.number,
                head_sha=event.head_sha,
                open=event.open,
            )
            source = f"ci:{event.forge}"
            audit.record(
                session,
                clock=self.clock,
                actor=Actor(id=source, name=source, via="http"),
                action="webhook",
                outcome=Outcome.OK,
                detail=f"tracked {event.project}#{event.number} at {event.head_sha[:7]}"
                + ("" if event.open else " (closed)"),
            )

    def note_webhook(self, *, source: str, outcome: Outcome, detail: str) -> None:
        """Authenticated deliveries that change nothing still leave their audit row."""
        with self.database.writing() as session:
            actor = Actor(id=source, name=source, via="http")
            audit.record(
                session,
                clock=self.clock,
                actor=actor,
                action="webhook",
                outcome=outcome,
                detail=detail,
            )

    def _run(self, intent: Intent, actor: Actor, session: Session, outbox: Outbox) -> Result:
        clock = self.clock
        match intent:
            case StopLine(reason=reason):
                return line.stop(session, notifier=outbox, clock=clock, actor=actor, reason=reason)
            case StartLine(force=force):
                return line.start(
                    session,
                    notifier=outbox,
                    clock=clock,
                    actor=actor,
                    force=force,
                    admins=self.config.access.admins,
                )
            case ShowWhys():
                return whys_rule.show(session, clock=clock, actor=actor)
            case SetSeverity(severity=severity):
                return whys_rule.set_severity(session, clock=clock, actor=actor, severity=severity)
            case ScheduleWhys(when=when):
                return whys_rule.schedule(
                    session,
                    notifier=outbox,
                    clock=clock,
                    actor=actor,
                    when=when,
                    timezone=self.config.team_timezone,
                )
            case ShowActions(everyone=everyone):
                return whys_actions.listing(
                    session,
                    clock=clock,
                    actor=actor,
                    everyone=everyone,
                    timezone=self.config.team_timezone,
                )
            case ActionDone(item_id=item_id):
                return whys_actions.mark_done(
                    session, notifier=outbox, clock=clock, actor=actor, item_id=item_id
                )
            case ShowLine():
                return line.status(session, clock=clock, actor=actor)
            case ShowCi(revision=revision):
                return ci_status.status(
                    session, clock=clock, actor=actor, config=self.config, revision=revision
                )
            case Deploy() | Rollback() | ApproveDeploy():
                return self._deploy(intent, actor, session, outbox)
            case ShowOncall():
                return oncall.show(session, config=self.config.oncall, clock=clock, actor=actor)
            case OverrideOncall(user=user, until=until):
                return oncall.override(
                    session,
                    config=self.config.oncall,
                    clock=clock,
                    notifier=outbox,
                    actor=actor,
                    user=user,
                    until=until,
                )
            case AckPage(page_id=page_id):
                return escalation.acknowledge(
                    session,
                    notifier=outbox,
                    clock=clock,
                    config=self.config,
                    actor=actor,
                    page_id=page_id,
                )
            case ResolvePage(page_id=page_id):
                return escalation.resolve(
                    session,
                    notifier=outbox,
                    clock=clock,
                    config=self.config,
                    actor=actor,
                    page_id=page_id,
                )
            case ShowDigest(week=week):
                return digest_report.show(
                    session, config=self.config, clock=clock, actor=actor, which=week
                )
            case ShowChecks():
                audit.record(session, clock=clock, actor=actor, action="checks", outcome=Outcome.OK)
                return check_overview(session, checks=self.config.checks, clock=clock)
            case Help(not_understood=text):
                outcome = Outcome.OK if text is None else Outcome.UNKNOWN
                audit.record(
                    session,
                    clock=clock,
                    actor=actor,
                    action="help",
                    outcome=outcome,
                    detail=text or "",
                )
                return intent
        raise TypeError(f"no handler for {intent!r}")

    def _deploy(self, intent: Intent, actor: Actor, session: Session, outbox: Outbox) -> Result:
        context = deploy_request.Context(
            notifier=outbox,
            clock=self.clock,
            config=self.config,
            source=self.deployer.source if self.deployer else None,
            holder=self.deployer.holder if self.deployer else "",
        )
        match intent:
            case Deploy(revision, environment, fix_reason, override, again):
                wish = DeployWish(revision, environment, fix_reason, override, again)
                return deploy_request.deploy(session, context, actor=actor, wish=wish)
            case Rollback(environment, revision, confirmed):
                rollback = RollbackWish(environment, revision, confirmed)
                return deploy_request.rollback(session, context, actor=actor, wish=rollback)
            case ApproveDeploy(deploy_id):
                return deploy_request.approve(session, context, actor=actor, deploy_id=deploy_id)
        raise TypeError(f"no deploy handler for {intent!r}")

    def _deploy_status(self, intent: ShowDeploys, actor: Actor) -> Result:
        """Asks the hosts themselves, outside any write transaction: SSH may take a moment.
        Audited once the question is known to be one Andon can answer, refused or not."""
        refusal = self._deploy_status_refusal(intent)
        with self.database.writing() as session:
            audit.record(
                session,
                clock=self.clock,
                actor=actor,
                action="deploy.status",
                outcome=Outcome.OK if refusal is None else Outcome.REFUSED,
                detail=intent.environment or "",
                message=refusal.reason if refusal is not None else "",
            )
        if refusal is not None:
            return refusal
        assert self.deployer is not None  # refused above without one
        with self.database.reading() as session:
            return deploy_status.status(
                session,
                config=self.config,
                clock=self.clock,
                transport_for=self.deployer.hosts,
                environment=intent.environment,
            )

    def _deploy_status_refusal(self, intent: ShowDeploys) -> Refusal | None:
        if intent.environment is not None and intent.environment not in self.config.environments:
            return Refusal(f"{intent.environment!r} is not an environment.")
        if not self.config.environments or self.deployer is None:
            return Refusal(
                "No environments are configured — add `[environments.<name>]` to andon.toml."
            )
        return None

    def _record_failure(self, intent: Intent, actor: Actor, error_id: str) -> None:
        try:
            with self.database.writing() as session:
                audit.record(
                    session,
                    clock=self.clock,
                    actor=actor,
                    action=_action(intent),
                    outcome=Outcome.ERROR,
                    detail=repr(intent),
                    message=f"error {error_id}",
                )
        except Exception:
            log.exception("could not record error %s in the audit log", error_id)


_ACTIONS = {
    StopLine: "line.stop",
    StartLine: "line.start",
    ShowLine: "line.status",
    ShowCi: "ci.status",
    Deploy: "deploy",
    Rollback: "rollback",
    ShowDeploys: "deploy.status",
    ApproveDeploy: "deploy.approve",
    ShowOncall: "oncall",
    OverrideOncall: "oncall.override",
    ShowChecks: "checks",
    AckPage: "page.ack",
    ShowWhys: "whys",
    SetSeverity: "whys.severity",
    ScheduleWhys: "whys.schedule",
    ShowActions: "actions",
    ShowDigest: "digest",
    ActionDone: "action.done",
    ResolvePage: "page.resolve",
}


def _action(intent: Intent) -> str:
    return _ACTIONS.get(type(intent), "help")


def _stoppage_of(session: Session, place: ThreadPlace) -> int | None:
    if place.message_id is not None:
        return conversation.stoppage_by_thread(session, place.message_id)
    root = session.exec(
        select(OutboxMessage.id).where(
            OutboxMessage.channel == place.channel, OutboxMessage.ts == place.thread_ts
        )
    ).first()
    return conversation.stoppage_by_thread(session, root) if root is not None else None
