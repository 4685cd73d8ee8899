"""``andon``: the server, the shell, and operator commands that obey the Slack commands' rules."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.cli import deploy as cli_deploy
from bot.cli import digest as cli_digest
from bot.cli import flag as cli_flag
from bot.cli import whys as cli_whys
from bot.settings.sealed import seal
from bot.version import VersionFlag

if TYPE_CHECKING:
    from bot.settings.environment import Settings
    from core.config.file import AndonConfig


Commands = argparse._SubParsersAction  # type: ignore[type-arg]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="andon", description="Andon runs the production line: serve it, or act on it."
    )
    parser.add_argument("--version", action=VersionFlag)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_fronts(commands)
    _add_upkeep(commands)
    _add_hooks(commands)
    _add_line(commands)
    cli_deploy.add_parsers(commands)
    cli_whys.add_parsers(commands)
    cli_digest.add_parsers(commands)
    cli_flag.add_parsers(commands)
    return parser


def _add_fronts(commands: Commands) -> None:
    """``serve``, ``shell`` and ``demo``: the ways to run Andon itself."""
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


def _add_upkeep(commands: Commands) -> None:
    """``db``, ``config`` and ``audit``: what an operator keeps in order."""
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


def _add_hooks(commands: Commands) -> None:
    """``ci`` and ``gate``: the git hooks and what they feed."""
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


def _add_line(commands: Commands) -> None:
    """``line status|stop|start``: the slash command's verbs."""
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


def main(argv: Sequence[str] | None = None) -> int:
    seal()  # before anything: the builds Andon runs as its own user cannot read its environment
    args = _parser().parse_args(argv)
    if args.command == "gate":  # the git hook's entry: no settings, no config until needed
        from bot.githooks import gate as gate_hook

        return gate_hook.run(args)
    if args.command == "init":  # before any settings: there is nothing to read yet
        from bot.cli import init as cli_init

        return cli_init.run()
    from bot.line_database import NoDatabaseError  # not bot.main: the engine loads on demand
    from bot.settings.environment import load
    from core.config.file import ConfigError

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
            from bot.server.run import serve

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
            from bot.cli import ci as cli_ci

            return cli_ci.run(settings, args)
        case "deploy" | "rollback":
            return cli_deploy.run(settings, args)
        case "whys":
            return cli_whys.run(settings, args)
        case "digest":
            return cli_digest.run(settings, args)
        case "flag":
            return cli_flag.run(settings, args)
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

    from bot.workers import jail
    from core.config.file import load, problems

    if not Path(path).exists():
        print(f"{path}: no file — Andon runs the line alone, with every optional feature off.")
        return 0
    found = problems(path)
    if not found:  # what depends on this machine, for a file that is right in itself
        config = load(path)
        found = jail.problems(config) + _ssh_problems(config)
    for problem in found:
        print(f"{path}: {problem}")
    if not found:
        print(f"{path}: no problems.")
    return 1 if found else 0


def _ssh_problems(config: AndonConfig) -> list[str]:
    """The ssh_config's part, read only where an environment has an SSH host (paramiko)."""
    if all(host.is_local for env in config.environments.values() for host in env.hosts):
        return []
    from bot.hosts import ssh_config

    return ssh_config.problems(config.environments)


def _audit(settings: Settings, *, limit: int, as_json: bool) -> int:
    from bot.line_database import existing_database
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
    from bot.intents.typed import ShowLine, StartLine, StopLine

    intent = {
        "status": ShowLine(),
        "start": StartLine(force=getattr(args, "force", None)),
        "stop": StopLine(" ".join(getattr(args, "reason", []))),
    }[args.verb]
    from bot.cli.intent import run_intent

    announce = args.verb != "status"
    return run_intent(settings, intent, name=args.name, announce=announce, workers=False)


if __name__ == "__main__":
    raise SystemExit(main())
