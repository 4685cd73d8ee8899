"""The answer the person who asked sees (ephemeral in Slack, printed in the terminal)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.intents import help
from bot.intents.typed import Help
from bot.render import (
    actions,
    alerts,
    checks,
    ci,
    deploy,
    digest,
    flag_watch,
    flags,
    line,
    resume,
    whys,
)
from bot.render.kit import Message, clip, message, section
from bot.render.mrkdwn import inert
from core.alerts.escalation import Acknowledged, Resolved
from core.alerts.oncall import Oncall, OverrideSet
from core.checks.judge import CheckView
from core.ci.status import RevisionCi
from core.deploy.request import Accepted, ChooseEnvironment, ConfirmRollback
from core.deploy.resumable import NothingToResume
from core.deploy.status import DeployStatus
from core.digest.report import Digest
from core.flags.commands import Changed, Created, FlagList, FlagShown, Watching
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
    | NothingToResume
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
    | Created
    | Changed
    | Watching
    | FlagList
    | FlagShown
    | Refusal
    | Help
    | Failure
)


# Which renderer says each result, tried in order: the first whose type it is.
RENDERERS: tuple[tuple[type, Callable[[Any], Message]], ...] = (
    (LineStatus, line.status),
    (Stopped, line.stopped),
    (AlreadyStopped, line.already_stopped),
    (Started, line.started),
    (RevisionCi, ci.revision),
    (Accepted, deploy.accepted),
    (ChooseEnvironment, deploy.choose),
    (ConfirmRollback, deploy.confirm),
    (NothingToResume, resume.nothing),
    (DeployStatus, deploy.status),
    (Oncall, alerts.oncall),
    (OverrideSet, alerts.override_set),
    (Acknowledged, alerts.acknowledged),
    (Resolved, alerts.resolved),
    (list, checks.checks),
    (Analysis, whys.analysis),
    (SeveritySet, whys.severity_set),
    (Scheduled, whys.scheduled),
    (ActionList, actions.action_list),
    (Done, actions.done),
    (Digest, digest.blocks),
    (Created, flags.created),
    (Changed, flags.changed),
    (Watching, flag_watch.watching),
    (FlagList, flags.flag_list),
    (FlagShown, flags.flag_shown),
)


def reply(result: Result) -> Message:
    """What a command answered, said by the renderer of its kind."""
    for kind, render in RENDERERS:
        if isinstance(result, kind):
            return render(result)
    return _said_by_andon(result)


def _said_by_andon(result: Result) -> Message:
    """A refusal, the usage, or a failure: answers every command may give, said here."""
    match result:
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
