"""Andon served from inside the test process, on a loopback port, with a clock the test moves.

Repeats, escalations and handoffs depend on time: the server is the real one (the same FastAPI
app, bolt listeners, courier and outbox ``andon serve`` runs), but the test holds its clock
and runs the scheduler's ticks itself instead of waiting for them.
"""

import threading
from pathlib import Path
from typing import Any

import requests
import uvicorn

from bot.andon import Andon
from bot.http import app as http_app
from bot.main import open_andon, slack_client
from bot.settings.environment import Settings
from bot.slack import app as slack_app
from bot.slack.web import SlackChat
from core.clock import ManualClock
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.harness import API_TOKEN, WEBHOOK_SECRET, free_port
from tests.slack_requests import SIGNING_SECRET, signed_headers, slash_command
from tests.waiting import eventually


class InProcessAndon:
    def __init__(
        self,
        workdir: Path,
        *,
        config: str,
        slack: FakeSlack,
        clock: ManualClock,
        database_url: str | None = None,
    ):
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "andon.toml").write_text(config)
        port = free_port()
        self.settings = Settings(
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.url,
            andon_database_url=database_url or f"sqlite:///{workdir / 'andon.db'}",
            andon_config=str(workdir / "andon.toml"),
            andon_http_port=port,
            andon_webhook_secret=WEBHOOK_SECRET,
            andon_api_token=API_TOKEN,
        )
        self.slack, self.clock = slack, clock
        client = slack_client(self.settings)
        self.andon: Andon = open_andon(self.settings, SlackChat(client), clock=clock, create=True)
        bolt = slack_app.build(self.andon, client=client, signing_secret=SIGNING_SECRET)
        app = http_app.build(self.andon, slack=bolt, settings=self.settings)
        config_ = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self._server = uvicorn.Server(config_)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> "InProcessAndon":
        self.andon.courier.start()
        self._thread.start()
        eventually(
            lambda: self._server.started, timeout=10, every=0.01, what="the in-process server"
        )
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.andon.courier.stop()
        if self.andon.deployer is not None:
            self.andon.deployer.close()
        self.andon.database.dispose()

    def deliver(self) -> None:
        """Everything queued so far reaches the fake Slack before the test looks."""
        left = self.andon.courier.flush(timeout=10)
        assert left == 0, f"{left} message(s) not delivered"

    # --- talking to it ---------------------------------------------------------------------

    def slack_post(
        self, body: bytes, content_type: str, *, timeout: float = 10
    ) -> requests.Response:
        headers = {"Content-Type": content_type, **signed_headers(body)}
        answer = requests.post(
            self.url + "/slack/events", data=body, headers=headers, timeout=timeout
        )
        if answer.status_code == 200 and "json" in answer.headers.get("content-type", ""):
            self.slack.judge_ack(answer.json())
        return answer

    def slash(self, command: str, text: str, *, user: str = "U0MARIA") -> str:
        """A signed slash command from ``user`` (named after it); what Slack shows them, once
        everything it queued has reached the fake Slack."""
        body, kind = slash_command(
            command, text, user=user, name=user.lower()[2:], response_url=self.slack.response_url()
        )
        answer = self.slack_post(body, kind)
        assert answer.status_code == 200, answer.text
        self.deliver()
        return str(answer.json()["text"])

    def api(self, path: str, *, timeout: float = 10) -> Any:
        answer = requests.get(
            self.url + path, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=timeout
        )
        assert answer.status_code == 200, answer.text
        return answer.json()
