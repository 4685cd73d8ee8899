"""``andon``: the server, the shell, and operator commands that obey the Slack commands' rules."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot import cli_deploy, cli_digest, cli_whys
from bot.version import VersionFlag
from core.refusal import Refusal

if TYPE_CHECKING:
    from bot.andon import Andon
    from bot.commands import Intent
    from bot.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="andon", description="Andon runs the production line: serve it, or act on it."
    )
    parser.add_argument("--version", action=VersionFlag)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "init", help="write andon.toml and slack-app-manifest.yml here, to start from"
    )
    commands.add_parser(
        "serve", help="serve Slack (or the terminal), the HTTP API and the scheduler"
    )
    shell = commands.add_parser(
        "shell", help="the terminal front: the engine with you as the channel"
    )
    shell.add_argument("--as", dest="name", help="who you are (default: $USER)")
    demo = commands.add_parser(
        "demo", help="the whole line in the terminal: a push to a rollback, in a temporary dir"
    )
    demo.add_argument("--keep", action="store_true", help="keep the temporary dir, say where")

    db = commands.add_parser("db", help="the database")
    db.add_subparsers(dest="db_command", required=True).add_parser(
        "upgrade", help="apply the migrations"
    )
    config = commands.add_parser("config", help="andon.toml")
    config.add_subparsers(dest="config_command", required=True).add_parser(
        "check", help="name every problem in the configuration file, with its key"
    )
    audit = commands.add_parser("audit", help="the audit log, newest first")
    audit.add_argument("--limit", type=int, default=50)
    audit.add_argument("--json", action="store_true", help="one JSON object per line")

    ci = commands.add_parser("ci", help="CI results and the built-in local runner")
    ci_verbs = ci.add_subparsers(dest="ci_command", required=True)
    ci_status = ci_verbs.add_parser("status", help="what every pipeline said about a revision")
    ci_status.add_argument("revision", help="7 to 40 hex digits")
    ci_status.add_argument("--as", dest="name", help="who you are (default: $USER)")
    ci_install = ci_verbs.add_parser(
        "install", help="install the post-receive hook that queues pushed revisions for [ci.local]"
    )
    ci_install.add_argument("repo", help="the bare repository, e.g. /srv/git/app.git")
    ci_verbs.add_parser(
        "enqueue", help="queue revisions for the local runner (the hook's entry: reads stdin)"
    )

    gate = commands.add_parser("gate", help="the commit check: the git pre-receive hook")
    gate_verbs = gate.add_subparsers(dest="gate_command", required=True)
    gate_install = gate_verbs.add_parser(
        "install", help="install the pre-receive hook that asks Andon whether a push may land"
    )
    gate_install.add_argument("repo", help="the bare repository, e.g. /srv/git/app.git")
    gate_verbs.add_parser(
        "pre-receive", help="ask Andon about a push (the hook's entry: reads stdin)"
    )

    line = commands.add_parser("line", help="stop, start or show the production line")
    verbs = line.add_subparsers(dest="verb", required=True)
    verbs.add_parser("status", help="is the line running, since when, and why not")
    stop = verbs.add_parser("stop", help="stop the line with a reason")
    stop.add_argument("reason", nargs="+")
    start = verbs.add_parser(
        "start", help="run the line again (once its five whys is done or scheduled)"
    )
    start.add_argument(
        "--force", metavar="REASON", help="admins only: start before the five whys is done"
    )
    for verb in ("status", "stop", "start"):
        verbs.choices[verb].add_argument("--as", dest="name", help="who you are (default: $USER)")
    cli_deploy.add_parsers(commands)
    cli_whys.add_parsers(commands)
    cli_digest.add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from bot.jail import seal

    seal()  # before anything: the builds Andon runs as its own user cannot read its environment
    args = _parser().parse_args(argv)
    if args.command == "gate":  # the git hook's entry: no settings, no config until needed
        from bot import gate_hook

        return gate_hook.run(args)
    if args.command == "init":  # before any settings: there is nothing to read yet
        from bot import cli_init

        return cli_init.run()
    from bot.main import NoDatabaseError
    from bot.settings import load
    from core.config import ConfigError

    settings = load()
    try:
        return _dispatch(args, settings)
    except ConfigError as broken:
        print(f"andon: {broken}\nFix it, then check with `andon config check`.", file=sys.stderr)
        return 2
    except NoDatabaseError as missing:
        print(f"andon: {missing}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    match args.command:
        case "serve":
            from bot.serving import serve

            return serve(settings)
        case "shell":
            from bot.main import shell

            return shell(settings, name=args.name)
        case "demo":
            from bot.demo import run as demo

            return demo(keep=args.keep)
        case "db":
            return _db_upgrade(settings)
        case "config":
            return _config_check(settings.andon_config)
        case "audit":
            return _audit(settings, limit=args.limit, as_json=args.json)
        case "line":
            return _line(settings, args)
        case "ci":
            from bot import cli_ci

            return cli_ci.run(settings, args)
        case "deploy" | "rollback":
            return cli_deploy.run(settings, args)
        case "whys":
            return cli_whys.run(settings, args)
        case "digest":
            return cli_digest.run(settings, args)
    return 2


def _db_upgrade(settings: Settings) -> int:
    from storage import migrate
    from storage.database import Database

    database = Database(settings.andon_database_url)
    migrate.upgrade(database)
    print("The database is at the newest schema.")
    return 0


def _config_check(path: str) -> int:
    from pathlib import Path

    from bot import jail
    from core.config import load, problems

    if not Path(path).exists():
        print(f"{path}: no file — Andon runs the line alone, with every optional feature off.")
        return 0
    found = problems(path)
    if not found:  # what depends on this machine, for a file that is right in itself
        found = jail.problems(load(path))
    for problem in found:
        print(f"{path}: {problem}")
    if not found:
        print(f"{path}: no problems.")
    return 1 if found else 0


def _audit(settings: Settings, *, limit: int, as_json: bool) -> int:
    from bot.main import existing_database
    from core import audit

    database = existing_database(settings)
    with database.reading() as session:
        rows = audit.entries(session, limit=limit)
    for row in rows:
        if as_json:
            print(json.dumps(row.model_dump(mode="json")))
        else:
            when = row.at.strftime("%Y-%m-%d %H:%M:%S")
            note = f" — {row.message}" if row.message else ""
            detail = f" {row.detail!r}" if row.detail else ""
            print(
                f"{row.id:>6} {when} {row.actor_name} via {row.via}: {row.action}{detail} "
                f"→ {row.outcome}{note}"
            )
    return 0


def _line(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import ShowLine, StartLine, StopLine

    intent = {
        "status": ShowLine(),
        "start": StartLine(force=getattr(args, "force", None)),
        "stop": StopLine(" ".join(getattr(args, "reason", []))),
    }[args.verb]
    return run_intent(settings, intent, name=args.name, announce=args.verb != "status")


def run_intent(settings: Settings, intent: Intent, *, name: str | None, announce: bool) -> int:
    """Execute like any front, print the answer; exit 1 on a refusal, 2 on a failure."""
    from bot.chat.terminal import transcript
    from bot.commands import ShowLine
    from bot.main import chat_for, open_andon, person
    from bot.render.reply import Failure, reply

    andon = open_andon(settings, chat_for(settings))
    since = watermark(andon)
    result = andon.execute(intent, person(name, via="cli"))
    if announce:
        deliver(andon, slack=settings.uses_slack, since=since)
    for line in transcript(reply(result)):
        print(line)
    if isinstance(intent, ShowLine):
        print(f"(read from {andon.database.shown()} with {settings.andon_config})")
    andon.database.dispose()
    if isinstance(result, Failure):
        return 2
    return 1 if isinstance(result, Refusal) else 0


def watermark(andon: Andon) -> int:
    """The newest message queued so far: what a command queues comes after it."""
    from sqlalchemy import func
    from sqlmodel import select

    from storage.tables import OutboxMessage

    with andon.database.reading() as session:
        return int(session.exec(select(func.max(OutboxMessage.id))).one() or 0)


def deliver(andon: Andon, *, slack: bool, since: int) -> None:
    """The channel hears what changed, whichever front changed it; a slow Slack shows progress.

    Without Slack the line channel is the terminal of the running ``andon serve``: its courier
    prints what this command queued, in order with everything else, and this command shows it
    here too."""
    if not slack:
        shown = _show_queued(andon, since=since)
        if shown:
            print(
                f"({shown} message(s) queued for the line channel: the terminal of "
                "`andon serve` shows them in order.)",
                file=sys.stderr,
            )
        return
    left = andon.courier.flush(timeout=1.0)
    if left:
        print(f"Delivering {left} announcement(s) to Slack…", file=sys.stderr, flush=True)
        left = andon.courier.flush(timeout=9.0)
    if left:
        print(
            f"{left} announcement(s) queued; `andon serve` delivers them when the chat answers.",
            file=sys.stderr,
        )


def _show_queued(andon: Andon, *, since: int) -> int:
    """Print what was queued after ``since`` as the terminal channel will, numbers and all,
    without taking it from the server's courier."""
    from sqlmodel import col, select

    from bot.chat import Outgoing
    from bot.chat.terminal import TerminalChat
    from storage.tables import OutboxMessage

    terminal = TerminalChat()
    with andon.database.reading() as session:
        rows = session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.id) > since, OutboxMessage.status != "superseded")
            .order_by(col(OutboxMessage.id))
        ).all()
        for row in rows:
            assert row.id is not None
            parent = session.get(OutboxMessage, row.parent_id) if row.parent_id else None
            terminal.send(
                Outgoing(
                    id=row.id,
                    kind=row.kind,
                    target=row.target,
                    payload=row.payload,
                    parent_channel=parent.channel if parent else None,
                    parent_ts=(parent.ts or str(parent.id)) if parent else None,
                )
            )
    return len(rows)


if __name__ == "__main__":
    raise SystemExit(main())
