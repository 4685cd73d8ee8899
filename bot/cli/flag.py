"""``andon flag``: the ``/flag`` commands for operators — ``create``, ``on``, ``off``, ``ramp``,
``list``, ``show`` — under the same rules and audit; changes are announced in the channel."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # every ``andon`` start builds these parsers: keep the import light
    from bot.intents.flags import FlagIntent
    from bot.settings.environment import Settings


def add_parsers(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    flag = commands.add_parser("flag", help="feature flags: create, on, off, ramp, list, show")
    verbs = flag.add_subparsers(dest="flag_command", required=True)
    create = verbs.add_parser("create", help="a new flag, off in every environment")
    create.add_argument("key", help="[a-z0-9][a-z0-9._-]{0,63}, e.g. new-checkout")
    create.add_argument("description", nargs="*")
    on = verbs.add_parser("on", help="on for everyone (100%%) in one environment")
    off = verbs.add_parser("off", help="off for everyone (0%%): the kill switch, always allowed")
    ramp = verbs.add_parser("ramp", help="on for a percentage of targeting keys, the same ones")
    for verb in (on, off, ramp):
        verb.add_argument("key")
    ramp.add_argument("percentage", help="a whole number from 0 to 100, e.g. 30%%")
    for verb in (on, off, ramp):
        verb.add_argument("environment", nargs="?", help="default: production, or the only one")
    for verb in (on, ramp):
        verb.add_argument("--fix", metavar="WHY", help="while the line is stopped: this is the fix")
    verbs.add_parser("list", help="every flag and its percentage in each environment")
    show = verbs.add_parser("show", help="one flag: each environment, who changed it when")
    show.add_argument("key")
    for verb in verbs.choices.values():
        verb.add_argument("--as", dest="name", help="who you are (default: $USER)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """The verbs of ``/flag`` go through ``execute`` like Slack's: same rules, same audit."""
    from bot.cli.intent import run_intent

    intent = _intent(args)
    announce = args.flag_command not in ("list", "show")
    return run_intent(settings, intent, name=args.name, announce=announce)  # type: ignore[arg-type]


def _intent(args: argparse.Namespace) -> FlagIntent:
    from bot.intents.flags import PERCENTAGES, ChangeFlag, CreateFlag, ListFlags, ShowFlag

    match args.flag_command:
        case "create":
            return CreateFlag(args.key, " ".join(args.description))
        case "list":
            return ListFlags()
        case "show":
            return ShowFlag(args.key)
    percentage = PERCENTAGES.get(args.flag_command) or args.percentage
    fix = " ".join((getattr(args, "fix", None) or "").split()) or None
    return ChangeFlag(args.key, percentage, args.environment, fix)
