"""What ``andon serve`` runs around the engine: Slack, the HTTP server, the scheduler, the
runners and pollers — and the order in which they stop.

Kept apart from ``bot.main`` so the other commands (``andon line status``…) start without
importing the web server, Slack's SDK or the forges: they answer in a fraction of the time.
"""

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import uvicorn
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot import logs, startup
from bot.andon import Andon
from bot.http import app as http_app
from bot.http import slow_clients
from bot.main import chat_for, open_andon, person, slack_client
from bot.server import reread, stopping
from bot.settings.environment import Settings
from bot.settings.sealed import sealed
from bot.slack.homes import Homes
from bot.terminal.chat import TerminalChat
from bot.terminal.shell import Shell
from bot.workers import deployment_mirror, jail
from bot.workers.checks import Checker
from core.config.build import runs_repository_code
from core.config.file import AndonConfig, load
from core.config.http import HttpConfig

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

    from bot.forges.statuses import ForgeStatuses
    from bot.workers.ci_runner import LocalRunner

log = logging.getLogger("andon")


@dataclass(frozen=True)
class Workers:
    """What runs beside the HTTP server: started before it, stopped after it (``_shut_down``)."""

    checker: Checker | None
    jobs: "BackgroundScheduler"
    runner: "LocalRunner | None"
    statuses: "ForgeStatuses | None"
    deployments: "deployment_mirror.ForgeDeployments | None"


def serve(settings: Settings) -> int:
    """One process: Slack (HTTP or Socket Mode) or the terminal, the HTTP API, the scheduler."""
    logs.configure(settings.scrubber(), form=settings.andon_log_format)
    config = load(settings.andon_config)
    if settings.uses_slack and not config.slack.channel:
        log.error(
            "SLACK_BOT_TOKEN is set but andon.toml has no [slack] channel: nowhere to announce"
        )
        return 2
    stop = stopping.Stop(config.http.stop_grace.total_seconds())
    stopping.install(stop)
    reread.install(reread.Reread(settings, config))
    chat = chat_for(settings)
    andon = open_andon(settings, chat, config=config, create=True)
    slack = _slack(andon, settings)
    _say_closed_doors(settings)
    _say_who_builds(config)
    workers = _start_workers(andon, settings)
    server = _http_server(andon, settings, slack=slack, limits=config.http)
    stop.attach(server)
    socket = _socket_mode(settings, slack)
    startup.done(freeze=True)  # startup's objects live as long as the process
    if isinstance(chat, TerminalChat):
        _start_shell(andon, chat, stop=stop)
    log.info("serving on http://%s:%s", settings.andon_http_host, settings.andon_http_port)
    try:
        server.run()
    except KeyboardInterrupt:
        pass  # a Ctrl-C before the handlers were in place: stop all the same
    finally:
        _shut_down(stop, andon, socket=socket, workers=workers)
    return 0


def _slack(andon: Andon, settings: Settings) -> App | None:
    """Slack's app when a bot token is set, and the Home tabs it keeps fresh."""
    if not settings.uses_slack:
        return None
    from bot.slack import app as slack_app

    signing = settings.slack_signing_secret
    slack = slack_app.build(
        andon,
        client=slack_client(settings),
        signing_secret=signing.get_secret_value() if signing else None,
    )
    andon.homes = Homes(andon, client=slack.client, every=settings.andon_tick_seconds)
    return slack


def _start_workers(andon: Andon, settings: Settings) -> Workers:
    """The outbox and Home tabs first, deploys a stop cut short recovered before any tick can
    start another, then the scheduler and the pollers."""
    from bot.workers import scheduler

    andon.courier.start()
    if andon.homes is not None:
        andon.homes.start()
    assert andon.deployer is not None
    andon.deployer.recover()
    if andon.flag_watcher is not None:
        andon.flag_watcher.start()  # first, the ramps a stop or a crash left mid-watch
    checker = _checker(andon)
    jobs = scheduler.start(andon, checker=checker, every=settings.andon_tick_seconds)
    runner = _local_ci(andon)
    statuses = _forge_statuses(andon, settings)
    deployments = deployment_mirror.start(andon, settings)
    return Workers(checker, jobs, runner, statuses, deployments)


def _http_server(
    andon: Andon, settings: Settings, *, slack: App | None, limits: HttpConfig
) -> uvicorn.Server:
    """The HTTP front within [http]'s bounds: slow or too many clients are cut."""
    return uvicorn.Server(
        uvicorn.Config(
            http_app.build(andon, slack=slack, settings=settings, limits=limits),
            host=settings.andon_http_host,
            port=settings.andon_http_port,
            log_level="warning",
            log_config=None,
            access_log=False,
            # [http]: slow or too many clients are cut (docs/operations.md)
            http=slow_clients.protocol(header_timeout=limits.header_timeout.total_seconds()),
            limit_concurrency=limits.max_connections,
            timeout_keep_alive=limits.keep_alive.total_seconds(),  # type: ignore[arg-type]
        )
    )


def _start_shell(andon: Andon, chat: TerminalChat, *, stop: stopping.Stop) -> None:
    """Without Slack the terminal is the line channel: a shell whose ``quit`` stops the server."""
    print("No SLACK_BOT_TOKEN: the terminal is the line channel (type /line status).", flush=True)
    shell = Shell(andon, chat, person(None, via="terminal"))
    threading.Thread(
        target=shell.run,
        kwargs={"on_quit": lambda: stop.begin("quit"), "greet": False},
        name="andon-shell",
        daemon=True,
    ).start()


def _shut_down(
    stop: stopping.Stop, andon: Andon, *, socket: SocketModeHandler | None, workers: Workers
) -> None:
    """The order of a stop (bot.server.stopping): intake ends while deploys reach a safe point, then
    the outbox's last delivery, then pools and the database — each within what is left."""
    stop.begin("the server stopped")
    deployer = andon.deployer
    assert deployer is not None
    deployer.stop_taking_work()
    if andon.flag_watcher is not None:
        andon.flag_watcher.stop()
    reserve = stopping.LAST_DELIVERY + stopping.CLOSING
    intake = {
        "the scheduler": lambda: workers.jobs.shutdown(wait=True),
        "deploys in flight": lambda: deployer.finish(max(stop.left() - reserve, 0)),
    }
    runner, statuses, deployments = workers.runner, workers.statuses, workers.deployments
    for what, part in (
        ("Socket Mode", socket.close if socket else None),
        ("the CI runner", runner.stop if runner else None),
        ("forge statuses", statuses.stop if statuses else None),
        ("forge deployments", deployments.stop if deployments else None),
        ("Home tabs", andon.homes.stop if andon.homes else None),
    ):
        if part is not None:
            intake[what] = part
    stop.together(intake, within=stop.left() - reserve)
    last = min(stopping.LAST_DELIVERY, stop.left() - stopping.CLOSING)
    stop.step("the outbox's last delivery", lambda: _last_delivery(andon, last), within=last)
    checker = workers.checker
    closing = {"SSH pools": deployer.close, **({"checks": checker.close} if checker else {})}
    stop.together(closing)
    stop.step("the database", andon.database.dispose)
    stop.finished()


def _last_delivery(andon: Andon, timeout: float) -> None:
    left = andon.courier.finish(timeout=max(timeout, 0))
    if left:
        log.warning("%s message(s) wait in the outbox for the next start", left)


def _socket_mode(settings: Settings, slack: App | None) -> SocketModeHandler | None:
    if slack is None or not settings.slack_app_token:
        return None
    handler = SocketModeHandler(slack, settings.slack_app_token.get_secret_value())
    handler.connect()
    log.info("connected to Slack in Socket Mode")
    return handler


def _checker(andon: Andon) -> Checker | None:
    """The built-in checks of ``[[checks]]``, polled on the scheduler's tick."""
    if not andon.config.checks:
        return None
    log.info("checks: %s", ", ".join(check.name for check in andon.config.checks))
    return Checker(andon)


def _local_ci(andon: Andon):  # type: ignore[no-untyped-def]
    """The built-in runner, for teams without a CI: on when ``[ci.local]`` is configured."""
    ci = andon.config.ci
    if ci is None or ci.local is None:
        return None
    from bot.workers.ci_runner import LocalRunner

    runner = LocalRunner(andon)
    runner.start()
    log.info("local CI runner: %r at every queued revision", ci.local.command)
    return runner


def _forge_statuses(andon: Andon, settings: Settings):  # type: ignore[no-untyped-def]
    """``andon/line`` on open pull/merge request heads: on for each forge whose token is set."""
    from bot.forges.statuses import ForgeStatuses, GitHubStatuses, GitLabStatuses
    from core.review import ForgePort

    apis = andon.config.forges
    forges: dict[str, ForgePort] = {}
    if settings.andon_github_token:
        token = settings.andon_github_token.get_secret_value()
        forges["github"] = GitHubStatuses(api=apis.github_api, token=token)
    else:
        log.info("ANDON_GITHUB_TOKEN is unset: no andon/line status on GitHub pull requests")
    if settings.andon_gitlab_token:
        token = settings.andon_gitlab_token.get_secret_value()
        forges["gitlab"] = GitLabStatuses(api=apis.gitlab_api, token=token)
    else:
        log.info("ANDON_GITLAB_TOKEN is unset: no andon/line status on GitLab merge requests")
    if not forges:
        return None
    statuses = ForgeStatuses(andon, forges)
    statuses.start()
    log.info("commit statuses: andon/line on open heads at %s", ", ".join(sorted(forges)))
    return statuses


def _say_who_builds(config: AndonConfig) -> None:
    """Code from the repository at start: refused as root without a user, or run as whom."""
    local_ci = config.ci is not None and config.ci.local is not None
    if not runs_repository_code(config.build, local_ci=local_ci):
        return
    for problem in jail.problems(config):
        log.error(problem)
    user = config.build.user if config.build else None
    if not jail.as_root() and user is not None:
        log.warning(
            "[build] user = %r applies only when Andon runs as root; builds run as Andon's user "
            "(with Andon closed to them)",
            user,
        )
    if not jail.as_root() and not sealed():
        log.warning(
            "this system cannot close Andon's environment to the builds it runs as its own user: "
            "run Andon as root with [build] user to keep code from the repository from reading it"
        )


def _say_closed_doors(settings: Settings) -> None:
    closed = []
    if not settings.uses_slack:
        closed.append("SLACK_BOT_TOKEN is unset: /slack/events answers 401")
    elif not settings.slack_signing_secret and not settings.slack_app_token:
        closed.append("SLACK_SIGNING_SECRET is unset: /slack/events answers 401")
    if not settings.andon_api_token:
        closed.append("ANDON_API_TOKEN is unset: /api/*, /openapi.json and /docs answer 401")
    if not settings.andon_webhook_secret:
        closed.append("ANDON_WEBHOOK_SECRET is unset: /hooks/* answer 401")
    if not settings.andon_flags_token:
        closed.append("ANDON_FLAGS_TOKEN is unset: /ofrep/v1/* (flag evaluation) answer 401")
    for door in closed:
        log.warning(door)
    if not settings.andon_metrics_token:
        log.info("ANDON_METRICS_TOKEN is unset: /metrics is open to anyone who reaches the port")
