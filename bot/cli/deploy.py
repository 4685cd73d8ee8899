"""``andon deploy`` and ``andon rollback``: the slash commands' rules, with a progress line.

The deploy runs in this process; the channel hears the same progress message a Slack
``/deploy`` would post, delivered by this process's courier while it runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from bot import startup
from bot.intents.typed import Deploy, Help, ResumeDeploy, Rollback, ShowDeploys, parse

if TYPE_CHECKING:  # the git hook parses these arguments too: keep its start light
    from bot.andon import Andon
    from bot.settings.environment import Settings
    from core.deploy.records import DeployView

_POLL = 0.5


def add_parsers(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    deploy = commands.add_parser(
        "deploy",
        help="deploy a green revision (or `deploy status`: which host runs which revision; "
        "`deploy resume [env]`: continue a deploy interrupted between batches)",
    )
    deploy.add_argument(
        "words", nargs="*", help="[revision] [environment], status [env] or resume [env]"
    )
    deploy.add_argument("--fix", metavar="REASON", help="ship a green fix while the line stops")
    deploy.add_argument("--override", action="store_true", help="ship a release marked bad")
    rollback = commands.add_parser("rollback", help="back to the previous good release")
    rollback.add_argument("words", nargs="*", help="[environment] [revision]")
    rollback.add_argument("--confirm", action="store_true", help="roll back across migrations")
    for parser in (deploy, rollback):
        parser.add_argument("--as", dest="name", help="who you are (default: $USER)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli.intent import deliver, watermark
    from bot.main import chat_for, open_andon, person
    from bot.render.reply import Failure, reply
    from bot.terminal.chat import transcript
    from core.deploy.request import Accepted
    from core.refusal import Refusal

    andon = open_andon(settings, chat_for(settings))
    startup.done()  # it may follow the deploy for minutes
    intent = _intent(andon, args)
    since = watermark(andon)
    if settings.uses_slack:
        andon.courier.start()  # the channel's message moves with the deploy
    try:
        result = andon.execute(intent, person(args.name, via="cli"))
        for line in transcript(reply(result)):
            print(line, flush=True)
        if isinstance(result, Accepted) and result.runs_now:
            ending = _follow(andon, result.deploy.id)
            print(_ending(ending))
            code = 0 if ending.status.value == "succeeded" else 1
        elif isinstance(result, Failure):
            code = 2
        else:
            code = 1 if isinstance(result, Refusal | Help) else 0
    finally:
        andon.courier.stop()
        deliver(andon, slack=settings.uses_slack, since=since)
        if andon.deployer is not None:
            andon.deployer.close()
        andon.database.dispose()
    return code


def _intent(
    andon: Andon, args: argparse.Namespace
) -> Deploy | Rollback | ResumeDeploy | ShowDeploys | Help:
    environments = andon.config.environments
    text = " ".join(args.words)
    if args.command == "rollback":
        found = parse("/rollback", text, environments=environments)
        if isinstance(found, Rollback) and args.confirm:
            return Rollback(found.environment, found.revision, True)
        return found if isinstance(found, Rollback | Help) else Help(not_understood=text)
    found = parse("/deploy", text, environments=environments)
    if isinstance(found, Deploy):
        override = args.override or found.override
        return Deploy(found.revision, found.environment, args.fix, override, found.again)
    if isinstance(found, ResumeDeploy):
        override = args.override or found.override
        return ResumeDeploy(found.environment, args.fix or found.fix_reason, override)
    return found if isinstance(found, ShowDeploys | Help) else Help(not_understood=text)


def _follow(andon: Andon, deploy_id: int) -> DeployView:
    """Wait for the run, showing one progress line that changes as hosts move."""
    from core.deploy import records

    shown = ""
    tty = sys.stderr.isatty()
    while True:
        with andon.database.reading() as session:
            view = records.view(session, deploy_id)
        line = _progress(view)
        if line != shown:
            print(
                f"\r{line}" if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True
            )
            shown = line
        if view.status.finished:
            if tty:
                print(file=sys.stderr)
            if andon.deployer is not None:
                andon.deployer.wait(timeout=5)
            return view
        time.sleep(_POLL)


def _progress(view: DeployView) -> str:
    steps: dict[str, int] = {}
    for host in view.hosts:
        steps[host.step.value] = steps.get(host.step.value, 0) + 1
    counts = ", ".join(f"{count} {step}" for step, count in sorted(steps.items()))
    return f"{view.kind} #{view.id} of {view.short} to {view.environment}: {counts}"


def _ending(view: DeployView) -> str:
    if view.status.value == "succeeded":
        took = f" in {view.duration.total_seconds():.1f} s" if view.duration else ""
        done = "Rolled back" if view.is_rollback else "Deployed"
        return f"{done} {view.environment} to {view.short}{took}."
    return f"{view.kind} #{view.id} {view.status.value}: {view.error}"
