"""The shop floor: Andon as ``andon serve`` runs it, inside the demo's process.

The engine, its courier, its deployer and its HTTP app are the real ones, wired by the same
composition root; the terminal is the line channel. Only the scheduler is left out: the demo
delivers the outbox itself after each step, so every message lands under the step that caused it
instead of whenever a background thread gets to it.
"""

import hashlib
import hmac
import json
import logging
import secrets
import socket
import threading
import time
from typing import Any

import requests
import uvicorn
from pydantic import SecretStr
from sqlmodel import col, func, select

from bot import logs
from bot.andon import Andon
from bot.demo.stage import Stage
from bot.http import app as http_app
from bot.main import open_andon
from bot.settings.environment import Settings
from bot.settings.secrets import Scrubber
from bot.terminal.chat import TerminalChat
from bot.terminal.shell import Shell
from core.actor import Actor
from storage.tables import Deploy

UNFINISHED = ("awaiting_approval", "pending", "running")
DEPLOY_TIMEOUT = 30.0
START_TIMEOUT = 10.0
HTTP_TIMEOUT = 10.0


def settings_for(stage: Stage) -> Settings:
    """The demo's own settings: its database and config, no Slack, a fresh webhook secret.

    Given explicitly, so neither the caller's environment nor a ``.env`` in the working folder
    can point the demo at a real Slack workspace or database.
    """
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=None,
        slack_app_token=None,
        andon_url=None,
        andon_database_url=stage.database_url,
        andon_config=str(stage.config),
        andon_webhook_secret=SecretStr(secrets.token_hex(16)),
        andon_api_token=None,  # the story reads no /api/*: the hook need not record a token
    )


class Floor:
    """The running engine, its HTTP endpoints on a loopback port, and the people typing."""

    def __init__(self, stage: Stage) -> None:
        logs.configure(Scrubber([]), level=logging.WARNING)
        self.settings = settings_for(stage)
        self.chat = TerminalChat()
        self.andon: Andon = open_andon(self.settings, self.chat, create=True)
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        app = http_app.build(self.andon, slack=None, settings=self.settings)
        self._server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", log_config=None, access_log=False)
        )
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name="andon-demo-http",
            daemon=True,
        )

    def start(self) -> "Floor":
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the demo's HTTP server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.should_exit = True
            self._thread.join(timeout=START_TIMEOUT)
        self._socket.close()
        if self.andon.deployer is not None:
            self.andon.deployer.close()
        self.andon.database.dispose()

    def person(self, name: str) -> Shell:
        """Someone at the terminal front: what they type runs as it runs in ``andon shell``."""
        return Shell(self.andon, self.chat, Actor(id=name, name=name, via="terminal"))

    def webhook(self, path: str, payload: dict[str, Any]) -> requests.Response:
        """POST a webhook as a CI or a monitoring system would, signed with the shared secret."""
        body = json.dumps(payload).encode()
        secret = self.settings.webhook_secret(path.rsplit("/", 1)[-1]) or ""
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Andon-Signature": f"sha256={signature}"}
        return requests.post(self.url + path, data=body, headers=headers, timeout=HTTP_TIMEOUT)

    def deliver(self) -> None:
        """Everything queued so far is shown before the story moves on."""
        self.andon.courier.flush(timeout=5)

    def deploys(self) -> int:
        with self.andon.database.reading() as session:
            return int(session.exec(select(func.count()).select_from(Deploy)).one())

    def settle(self, *, deploys: int) -> None:
        """Wait until ``deploys`` deploys exist and all have ended, then show what they said.

        Auto-deploy and ``/deploy`` run in the deployer's threads; a real clock, no sleep of a
        fixed length — a local host takes a fraction of a second.
        """
        deadline = time.monotonic() + DEPLOY_TIMEOUT
        while self.deploys() < deploys or self._running():
            if time.monotonic() > deadline:
                raise RuntimeError(f"deploy #{deploys} did not end within {DEPLOY_TIMEOUT:g} s")
            self.andon.courier.deliver_due()
            time.sleep(0.05)
        self.deliver()

    def _running(self) -> bool:
        with self.andon.database.reading() as session:
            query = select(Deploy.id).where(col(Deploy.status).in_(UNFINISHED))
            return session.exec(query).first() is not None
