"""``andon whys``: the ``/whys`` commands for operators (``status``, ``severity``, ``schedule``)
under the same rules, and ``export <id>``: a stoppage's five whys as a Markdown post-mortem, to
keep outside Slack (a wiki, the repository, an email)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # every ``andon`` start builds these parsers: keep the import light
    from bot.settings.environment import Settings


def add_parsers(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    whys = commands.add_parser("whys", help="the five whys of a stoppage")
    verbs = whys.add_subparsers(dest="whys_command", required=True)
    status = verbs.add_parser("status", help="where the open stoppage's five whys stands")
    severity = verbs.add_parser("severity", help="how proportional its investments should be")
    severity.add_argument("severity", choices=("minor", "major", "critical"))
    schedule = verbs.add_parser("schedule", help="meet for it later; the line may start meanwhile")
    schedule.add_argument("when", nargs="+", help="e.g. tomorrow 10:00, or in 1h")
    for verb in (status, severity, schedule):
        verb.add_argument("--as", dest="name", help="who you are (default: $USER)")
    export = verbs.add_parser("export", help="write a stoppage's five whys as a post-mortem")
    export.add_argument("stoppage_id", type=int, help="the stoppage's number, e.g. 12")
    export.add_argument("--out", metavar="FILE", help="write here instead of standard output")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """The verbs of ``/whys`` go through ``execute`` like Slack's: same rules, same audit."""
    from bot.cli.intent import run_intent
    from bot.intents.typed import ScheduleWhys, SetSeverity, ShowWhys

    match args.whys_command:
        case "export":
            return _export(settings, args)
        case "status":
            return run_intent(settings, ShowWhys(), name=args.name, announce=False, workers=False)
        case "severity":
            intent = SetSeverity(args.severity)  # said to the asker; the channel hears nothing
            return run_intent(settings, intent, name=args.name, announce=False, workers=False)
        case "schedule":
            intent = ScheduleWhys(" ".join(args.when))
            return run_intent(settings, intent, name=args.name, announce=True, workers=False)
    return 2


def _export(settings: Settings, args: argparse.Namespace) -> int:
    """Print the post-mortem (or write it to ``--out``); exit 1 when there is no such stoppage."""
    from pathlib import Path

    from bot.line_database import existing_database
    from core.clock import SystemClock
    from core.whys.postmortem import UnknownStoppageError, markdown

    database = existing_database(settings)
    try:
        with database.reading() as session:
            text = markdown(session, args.stoppage_id, clock=SystemClock())
    except UnknownStoppageError as missing:
        print(f"andon: {missing}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        Path(args.out).write_text(text, encoding="utf-8")
    except OSError as failed:
        print(f"andon: cannot write {args.out}: {failed.strerror}", file=sys.stderr)
        return 1
    print(f"Wrote the post-mortem of stoppage #{args.stoppage_id} to {args.out}.", file=sys.stderr)
    return 0
