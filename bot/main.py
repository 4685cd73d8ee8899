"""The composition root: the one place that reads settings and wires the engine together.

Every command opens the engine here; what only ``andon serve`` runs around it (Slack, the HTTP
server, the scheduler, the pollers) is wired in ``bot.server.run``, so a command such as
``andon line status`` starts without importing any of it. The engine's parts are imported where
they are built, not with this module: a command pays for what it opens — the deploy and flag
workers only when it may deploy or watch a flag (``workers``), the terminal shell only for
``andon shell`` — and the tests' many short ``andon`` runs are mostly that import.
"""

from __future__ import annotations

import getpass
import logging
import os
from typing import TYPE_CHECKING

from bot import startup
from bot.line_database import found
from core.actor import Actor

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.andon import Andon
    from bot.outbox.chat import Chat
    from bot.releases.commits import GitCommits
    from bot.settings.environment import Settings
    from core.clock import Clock
    from core.config.file import AndonConfig
    from core.people import Directory

log = logging.getLogger("andon")

TERMINAL_CHANNEL = "line"


def slack_client(
    settings: Settings,
    *,
    timeout: int = 10,
    retry: bool = True,
    logger: logging.Logger | None = None,
) -> WebClient:
    """Every call it makes is counted for ``/metrics`` (``andon_slack_calls_total``).

    ``retry=False``: no second try after a dropped connection, for callers that would rather go
    without an answer than wait twice; ``logger``: for callers that log their own."""
    from bot.slack.calls import CountedClient

    assert settings.slack_bot_token is not None
    return CountedClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_base,
        timeout=timeout,
        retry_handlers=None if retry else [],
        logger=logger,
    )


def open_andon(
    settings: Settings,
    chat: Chat,
    *,
    config: AndonConfig | None = None,
    clock: Clock | None = None,
    create: bool = False,
    workers: bool = True,
) -> Andon:
    """Database migrated (``create``: only ``serve``, ``shell`` and ``demo`` may create or
    migrate one; the other commands find the line's or say where they looked), config read,
    courier ready (not yet started). ``workers=False``: no deployer and no flag watcher, for a
    command whose handlers use neither (the line's verbs, ``ci status``, the five whys, the
    digest) — an engine without them refuses a deploy as the git hook's does."""
    from bot.andon import Andon
    from bot.outbox.courier import Courier
    from bot.workers import jail
    from core.clock import SystemClock
    from core.config.file import load
    from storage import migrate
    from storage.database import Database

    scrub = settings.scrubber()
    database = Database(settings.andon_database_url, scrub=scrub)  # learns secrets on SIGHUP
    if create:
        migrate.upgrade(database)
    else:
        found(database, settings)
    config = config if config is not None else load(settings.andon_config)
    clock = clock or SystemClock()
    channel = config.slack.channel if settings.uses_slack else TERMINAL_CHANNEL
    courier = Courier(database, chat, clock=clock)
    andon = Andon(
        database=database,
        config=config,
        clock=clock,
        courier=courier,
        channel=channel or "",
        directory=directory_for(settings),
        jail=jail.jail_for(config, scrub=scrub),
        commits=_commits(config),
    )
    courier.lost_page = andon.page_not_delivered
    if workers:
        _add_workers(andon)
    return andon


def _commits(config: AndonConfig) -> GitCommits | None:
    if config.repo is None:
        return None
    from bot.releases.commits import GitCommits

    return GitCommits(config.repo.path)


def _add_workers(andon: Andon) -> None:
    """The deployer and the flag watcher (with the metric reader it asks, over HTTP)."""
    from bot.probes import metrics
    from bot.workers.deploys import Deployer
    from bot.workers.flag_watches import FlagWatcher

    andon.deployer = Deployer(
        config=andon.config,
        clock=andon.clock,
        database=andon.database,
        units=andon.units,
        execute=andon.execute,
        jail=andon.jail,
    )
    andon.flag_watcher = FlagWatcher(
        config=andon.config,
        clock=andon.clock,
        units=andon.units,
        reader=metrics.get,
        transport_for=andon.deployer.hosts,
    )


def directory_for(settings: Settings) -> Directory | None:
    """Slack knows its people by e-mail; the terminal knows nobody (``[people]`` still does)."""
    if not settings.uses_slack:
        return None
    from bot.slack.directory import LOOKUP_TIMEOUT, QUIET, SlackDirectory

    client = slack_client(settings, timeout=LOOKUP_TIMEOUT, retry=False, logger=QUIET)
    return SlackDirectory(client)


def chat_for(settings: Settings) -> Chat:
    if not settings.uses_slack:
        from bot.terminal.chat import TerminalChat

        return TerminalChat()
    from bot.slack.web import SlackChat

    return SlackChat(slack_client(settings))


def person(name: str | None, *, via: str) -> Actor:
    """The person at the keyboard: ``--as`` wins, then ``$USER``, then the account's name — and
    a container run under a uid with no account (Kubernetes, OpenShift) is still someone."""
    who = name or os.environ.get("USER") or _account() or f"uid {os.getuid()}"
    return Actor(id=who, name=who, via=via)


def _account() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for this uid
        return None


def shell(settings: Settings, *, name: str | None) -> int:
    """The engine with the terminal as its channel, and nothing else."""
    from bot import logs
    from bot.terminal.chat import TerminalChat
    from bot.terminal.shell import Shell

    logs.configure(settings.scrubber(), level=logging.WARNING, form=settings.andon_log_format)
    chat = TerminalChat()
    andon = open_andon(settings, chat, create=True)
    startup.done()  # a session may last all day
    Shell(andon, chat, person(name, via="terminal")).run()
    andon.database.dispose()
    return 0
