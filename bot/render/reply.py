"""The answer the person who asked sees (ephemeral in Slack, printed in the terminal)."""

from dataclasses import dataclass

from bot.intents import help
from bot.intents.typed import Help
from bot.render import actions, alerts, checks, ci, deploy, digest, line, whys
from bot.render.kit import Message, clip, message, section
from bot.render.mrkdwn import inert
from core.alerts.escalation import Acknowledged, Resolved
from core.alerts.oncall import Oncall, OverrideSet
from core.checks.judge import CheckView
from core.ci.status import RevisionCi
from core.deploy.request import Accepted, ChooseEnvironment, ConfirmRollback
from core.deploy.status import DeployStatus
from core.digest.report import Digest
from core.line import AlreadyStopped, LineStatus, Started, Stopped
from core.refusal import Refusal
from core.whys.actions import ActionList, Done
from core.whys.analysis import Analysis
from core.whys.rule import Scheduled, SeveritySet


@dataclass(frozen=True)
class Failure:
    """Something broke on our side; the id ties what the person saw to the log."""

    error_id: str


Result = (
    LineStatus
    | Stopped
    | AlreadyStopped
    | Started
    | RevisionCi
    | Accepted
    | ChooseEnvironment
    | ConfirmRollback
    | DeployStatus
    | Oncall
    | OverrideSet
    | Acknowledged
    | Resolved
    | list[CheckView]
    | Analysis
    | SeveritySet
    | Scheduled
    | ActionList
    | Done
    | Digest
    | Refusal
    | Help
    | Failure
)


def reply(result: Result) -> Message:
    match result:
        case LineStatus():
            return line.status(result)
        case Stopped():
            return line.stopped(result)
        case AlreadyStopped():
            return line.already_stopped(result)
        case Started():
            return line.started(result)
        case RevisionCi():
            return ci.revision(result)
        case Accepted():
            return deploy.accepted(result)
        case ChooseEnvironment():
            return deploy.choose(result)
        case ConfirmRollback():
            return deploy.confirm(result)
        case DeployStatus():
            return deploy.status(result)
        case Oncall():
            return alerts.oncall(result)
        case OverrideSet():
            return alerts.override_set(result)
        case Acknowledged():
            return alerts.acknowledged(result)
        case Resolved():
            return alerts.resolved(result)
        case list():
            return checks.checks(result)
        case Analysis():
            return whys.analysis(result)
        case SeveritySet():
            return whys.severity_set(result)
        case Scheduled():
            return whys.scheduled(result)
        case ActionList():
            return actions.action_list(result)
        case Done():
            return actions.done(result)
        case Digest():
            return digest.blocks(result)
        case Refusal(reason=reason):
            said = inert(reason)
            return message(said, section(f":no_entry: {said}"))
        case Help(not_understood=None):
            return message("How to use Andon", section(inert(help.usage())))
        case Help(not_understood=text, meant=meant, hint=hint):
            return _not_understood(text, meant, hint)
        case Failure(error_id=error_id):
            text = (
                f"Something went wrong on Andon's side (error `{inert(error_id)}`); nothing was "
                "changed. It is logged — tell your Andon operators the error id."
            )
            return message(text, section(f":warning: {text}"))
    raise TypeError(f"no reply for {type(result).__name__}")


def _not_understood(text: str, meant: str | None, hint: str | None) -> Message:
    """What was not understood, the likeliest meaning, and that command's usage — not all of it."""
    head = f"I don't know `{inert(clip(text, 200))}`."
    if meant:
        head += f" Did you mean `{inert(clip(meant, 200))}`?"
    if hint:
        head += f" {inert(hint)}"
    return message(head, section(head), section(inert(help.usage(help.command_of(text)))))
