"""The one table of handlers: every message Andon handles — each command's intent, each event —
has its handler here, with the audit action it is recorded under. The action is declared once,
in ``core``, beside the rule that records it; a failure's row reads it from here."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.bus import command_handlers as commands
from bot.bus import deploy_handlers as deploys
from bot.bus import event_handlers as events
from bot.bus import flag_handlers as flags
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
    WebhookNoted,
    WhysDue,
)
from bot.intents.flags import ChangeFlag, CreateFlag, ListFlags, ShowFlag, TurnOffFlag
from bot.intents.typed import (
    AckPage,
    ActionDone,
    ApproveDeploy,
    Deploy,
    Help,
    OverrideOncall,
    RecordInvestments,
    ResolvePage,
    ResumeDeploy,
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
from core import audit, help, line
from core.alerts import escalation, oncall, paging, unreachable
from core.checks import judge
from core.ci import results as ci_results
from core.ci import status as ci_status
from core.deploy import request as deploy_request
from core.deploy import resume as deploy_resume
from core.deploy import status as deploy_status
from core.digest import report as digest_report
from core.flags import commands as flag_commands
from core.gate import decide
from core.whys import actions as whys_actions
from core.whys import conversation, due, edits, form, rule


@dataclass(frozen=True)
class Handler:
    """``run`` takes the message and the ``Work`` the bus opened for it — or, ``own_units``,
    the ``Call``, and opens its units itself (to read outside a write, or in short chunks)."""

    action: str
    run: Callable[[Any, Any], Any]
    own_units: bool = False


HANDLERS: dict[type, Handler] = {
    # the commands: slash commands, buttons, modals, the terminal and the CLI
    StopLine: Handler(line.STOP_ACTION, commands.stop_line),
    StartLine: Handler(line.START_ACTION, commands.start_line),
    ShowLine: Handler(line.STATUS_ACTION, commands.show_line),
    ShowCi: Handler(ci_status.ACTION, commands.show_ci),
    Deploy: Handler(deploy_request.DEPLOY_ACTION, deploys.deploy),
    Rollback: Handler(deploy_request.ROLLBACK_ACTION, deploys.rollback),
    ApproveDeploy: Handler(deploy_request.APPROVE_ACTION, deploys.approve_deploy),
    ResumeDeploy: Handler(deploy_resume.RESUME_ACTION, deploys.resume_deploy),
    ShowDeploys: Handler(deploy_status.ACTION, deploys.show_deploys, own_units=True),
    ShowOncall: Handler(oncall.SHOW_ACTION, commands.show_oncall),
    OverrideOncall: Handler(oncall.OVERRIDE_ACTION, commands.override_oncall),
    ShowChecks: Handler(judge.SHOW_ACTION, commands.show_checks),
    AckPage: Handler(escalation.ACK_ACTION, commands.ack_page),
    ResolvePage: Handler(escalation.RESOLVE_ACTION, commands.resolve_page),
    ShowWhys: Handler(rule.SHOW_ACTION, commands.show_whys),
    SetSeverity: Handler(rule.SEVERITY_ACTION, commands.set_severity),
    ScheduleWhys: Handler(rule.SCHEDULE_ACTION, commands.schedule_whys),
    RecordInvestments: Handler(form.ACTION, commands.record_investments),
    ShowActions: Handler(whys_actions.LISTING_ACTION, commands.show_actions),
    ActionDone: Handler(whys_actions.DONE_ACTION, commands.action_done),
    ShowDigest: Handler(digest_report.SHOW_ACTION, commands.show_digest),
    CreateFlag: Handler(flag_commands.CREATE_ACTION, flags.create_flag),
    ChangeFlag: Handler(flag_commands.CHANGE_ACTION, flags.change_flag),
    TurnOffFlag: Handler(flag_commands.CHANGE_ACTION, flags.turn_off_flag),
    ListFlags: Handler(flag_commands.LIST_ACTION, flags.list_flags),
    ShowFlag: Handler(flag_commands.SHOW_ACTION, flags.show_flag),
    Help: Handler(help.ACTION, commands.help_asked),
    # the events: thread replies, webhooks, the commit check, the scheduler, the courier
    Replied: Handler(conversation.REPLY_ACTION, events.replied),
    ReplyEdited: Handler(edits.ACTION, events.reply_edited),
    ReplyPinned: Handler(conversation.PIN_ACTION, events.reply_pinned),
    BuildFinished: Handler(ci_results.ACTION, events.build_finished, own_units=True),
    AlertsDelivered: Handler(paging.ACTION, events.alerts_delivered, own_units=True),
    SenderTest: Handler(paging.ACTION, events.sender_test),
    PushAsked: Handler(decide.ACTION, events.push_asked),
    ReviewMoved: Handler(audit.WEBHOOK, events.review_moved),
    WebhookNoted: Handler(audit.WEBHOOK, events.webhook_noted),
    PagesDue: Handler(escalation.TICK_ACTION, events.pages_due),
    WhysDue: Handler(due.TICK_ACTION, events.whys_due),
    PageUndelivered: Handler(unreachable.ACTION, events.page_undelivered),
}
