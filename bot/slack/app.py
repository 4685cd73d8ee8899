"""Builds the bolt ``App``; each listener module registers itself, there is no module-level app."""

import logging
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient

from bot.andon import Andon
from bot.slack import buttons, commands, home, retries, threads, whys_form, whys_schedule
from bot.slack.calls import counted


def build(andon: Andon, *, client: WebClient, signing_secret: str | None) -> App:
    """``App()`` asks Slack ``auth.test`` here, so a bad token fails at start, not mid-incident."""
    app = App(
        client=client,
        # An unset secret closes the door: bolt rejects every request whose signature is made
        # with anything else, and a random value matches nothing.
        signing_secret=signing_secret or _closed_door(),
        # Listeners answer within the request (a /line command is a millisecond of work and
        # acks with its answer); slow work is a bolt lazy listener that runs after the ack.
        # bolt's other mode polls for the ack every 10 ms, which dominated every answer.
        process_before_response=True,
        # bolt's loggers copy this one's level: WARNING keeps the bodies of refused requests,
        # which bolt logs at INFO, out of the log (the HTTP front says one line instead).
        logger=logging.getLogger("slack_bolt"),
        listener_executor=ThreadPoolExecutor(max_workers=8, thread_name_prefix="andon-slack"),
    )
    app.use(CountedClients())
    retries.register(app, andon)
    commands.register(app, andon)
    buttons.register(app, andon)
    threads.register(app, andon)
    whys_form.register(app, andon)
    whys_schedule.register(app, andon)
    home.register(app, andon)
    return app


class CountedClients(Middleware):
    """bolt gives each request a plain ``WebClient`` of its own: listeners get a counted one,
    so ``views.open`` and the rest show in ``andon_slack_calls_total`` too. A class: bolt calls
    a function middleware through its keyword-argument injection, on every request."""

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        if req.context.client is not None:
            req.context["client"] = counted(req.context.client)
        return next()


def _closed_door() -> str:
    return secrets.token_hex(32)
