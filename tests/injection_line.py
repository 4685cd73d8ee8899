"""The stage of the injection table: one ``andon serve`` with every door open — Slack, every CI
and alert source, a bare repository guarded by the commit check, a ``local`` environment whose
host step fails on demand — and what a person saw there, as the fake Slack recorded it."""

import itertools
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from tests import inert
from tests.ci_payloads import generic, post, signature
from tests.deploy_line import toml_value
from tests.fakes.slack import FakeSlack
from tests.git_server import GitWorkspace
from tests.harness import CHANNEL, AndonServer, run_cli
from tests.slack_requests import (
    event_callback,
    file_share,
    message_changed,
    slash_command,
    thread_broadcast,
    thread_reply,
)
from tests.waiting import eventually

ADMIN, MARIA, ONCALL, DEV = "U0LEAD", "U0MARIA", "U0ONCALL", "U0DEV0001"
DEV_EMAIL = "dev@example.com"
# a host step that fails, printing what the release's fail.txt says, when it says anything
FAILING_STEP = "if [ -s fail.txt ]; then cat fail.txt; exit 1; fi"
_events = itertools.count(1)

Place = Callable[[dict[str, Any]], bool]


def in_channel(params: dict[str, Any]) -> bool:
    return params.get("channel") == CHANNEL and not params.get("thread_ts")


def in_thread(thread_ts: str) -> Place:
    return lambda params: params.get("thread_ts") == thread_ts


def in_dm(user: str) -> Place:
    return lambda params: params.get("channel") == "D" + user[1:]  # the fake's DM for U…


def on_home(user: str) -> Place:
    return lambda params: params.get("user_id") == user


class Line:
    """``andon serve`` and the team around it; ``acks`` keeps what slash commands answered."""

    def __init__(self, root: Path, slack: FakeSlack) -> None:
        self.slack = slack
        self.acks: list[dict[str, Any]] = []
        self.git = GitWorkspace(
            root / "git", author=("Dana Kim", "dana@example.com"), env={"USER": "dana"}
        )
        hosts = root / "hosts" / "production"
        config = f"""
[slack]
channel = "{CHANNEL}"
[access]
admins = ["setup", "{ADMIN}"]
[repo]
path = {toml_value(str(self.git.clone))}
branch = "main"
[oncall]
rotation = ["{ONCALL}"]
repeat = "1d"
ack_timeout = "1d"
[people]
"{DEV_EMAIL}" = "{DEV}"
[environments.production]
path = {toml_value(str(hosts))}
hosts = ["local"]
before_activate = [{toml_value(FAILING_STEP)}]
"""
        workdir = root / "andon"
        self.server = AndonServer(
            workdir, database_url=f"sqlite:///{workdir / 'andon.db'}", slack=slack, config=config
        )

    def start(self) -> "Line":
        self.server.start()
        env = {**self.server.env, "ANDON_URL": self.server.url}
        installed = run_cli(["gate", "install", str(self.git.bare)], env=env, cwd=self.git.clone)
        assert installed.returncode == 0, installed.stderr
        self.commit("the first release", {"app.py": "print(1)\n"})
        assert self.push().returncode == 0
        opened = {"type": "app_home_opened", "user": MARIA, "channel": "D0MARIA", "tab": "home"}
        sent = event_callback(opened, event_id=self._event())
        assert self.server.slack_post(*sent).status_code == 200
        self.slack.wait_for("views.publish")  # from now on her Home follows the line
        return self

    def stop(self) -> None:
        self.server.stop()

    # --- what the team does ----------------------------------------------------------------------

    def slash(self, command: str, text: str, *, user: str = MARIA) -> dict[str, Any]:
        """A signed slash command; its answer (the HTTP response) is kept with what was seen."""
        body, kind = slash_command(
            command, text, user=user, name=user[2:].lower(), response_url=self.slack.response_url()
        )
        answer = self.server.slack_post(body, kind)
        assert answer.status_code == 200, answer.text
        shown = answer.json() if answer.text else {}
        self.acks.append(shown)
        return shown

    def say(self, thread_ts: str, text: str, *, ts: str | None = None, how: str = "reply") -> None:
        """Maria replies in the thread as Slack's event callback carries it: a plain reply, one
        also sent to the channel (``thread_broadcast``) or a screenshot's comment
        (``file_share``)."""
        event_id = self._event()
        if how == "reply":
            sent = thread_reply(text, user=MARIA, thread_ts=thread_ts, event_id=event_id, ts=ts)
        else:
            posted = {"also to the channel": thread_broadcast, "with a file": file_share}[how]
            sent = posted(text, user=MARIA, thread_ts=thread_ts, event_id=event_id)
        assert self.server.slack_post(*sent).status_code == 200

    def edit(self, thread_ts: str, ts: str, *, was: str, now: str) -> None:
        """Maria edits her reply ``ts`` in Slack (``message_changed``)."""
        sent = message_changed(
            now, was=was, user=MARIA, ts=ts, thread_ts=thread_ts, event_id=self._event()
        )
        assert self.server.slack_post(*sent).status_code == 200

    @staticmethod
    def _event() -> str:
        return f"EvINJECT{next(_events):06d}"

    def stopped(self, reason: str = "sign-up is broken") -> str:
        """Stop the line from Slack; the stoppage's thread ``ts`` once it was announced."""
        self.slash("/line", f"stop {reason}")
        return str(self.server.open_stoppage()["thread_ts"])

    def running(self) -> None:
        """The line runs and nothing is remembered of the case before — not even a message of
        it that the courier delivers late."""
        if self.state() == "stopped":
            self.slash("/line", "start force the next case", user=ADMIN)
            assert self.state() == "running"
            self.slack.wait_for("chat.update", lambda p: "(restarted)" in p.get("text", ""))
        self._delivered()
        self.slack.forget()
        self.acks.clear()

    def _delivered(self, timeout: float = 10.0) -> None:
        """Wait until the outbox holds nothing pending (``/metrics`` says how many)."""
        eventually(
            lambda: 'andon_outbox_messages{status="pending"} 0.0' in self._metrics(),
            timeout=timeout,
            what="the outbox to empty",
        )

    def _metrics(self) -> str:
        return requests.get(self.server.url + "/metrics", timeout=10).text

    def state(self) -> str:
        return str(self.server.api("/api/line").json()["state"])

    def commit(self, message: str, files: dict[str, str]) -> str:
        """A new commit in the developer's clone (new even when the files are as they were)."""
        for name, text in files.items():
            (self.git.clone / name).write_text(text)
        self.git.git("add", "-A")
        self.git.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git.git("rev-parse", "HEAD").strip()

    def push(self, *options: str, **env: str) -> subprocess.CompletedProcess[str]:
        """``git push`` to the guarded repository, through the commit check's hook."""
        flags = [arg for option in options for arg in ("-o", option)]
        return subprocess.run(
            ["git", "push", *flags, "origin", "main"],
            cwd=self.git.clone,
            env={**self.git.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def green(self, revision: str) -> None:
        answer = post(self.server, "generic", generic(revision, "passed", run_id=revision[:8]))
        assert answer.status_code == 200, answer.text

    def hook(self, kind: str, provider: str, payload: Any, headers: dict[str, str]) -> None:
        """A webhook from a CI (``ci``) or an alert source (``alerts``), authenticated."""
        body = json.dumps(payload).encode()
        sent = {"Content-Type": "application/json", **headers}
        if provider == "github":
            sent["X-Hub-Signature-256"] = signature(body)
        elif not {"X-Gitlab-Token", "Authorization"} & set(headers):
            sent["X-Andon-Signature"] = signature(body)
        url = f"{self.server.url}/hooks/{kind}/{provider}"
        answer = requests.post(url, data=body, headers=sent, timeout=10)
        assert answer.status_code in (200, 202), answer.text

    # --- what a person saw -----------------------------------------------------------------------

    def shows(self, place: Place, seen: str, *, method: str = "chat.postMessage") -> None:
        """Wait until a message in ``place`` shows ``seen`` in its mrkdwn — or, by ``method``, an
        update of one (``chat.update``) or a Home tab (``views.publish``)."""
        self.slack.wait_for(
            method,
            lambda params: place(params) and any(seen in text for text in inert.texts(params)),
            timeout=20,
        )

    def read(self) -> list[Any]:
        return [call for call in self.slack.calls() if call.method in inert.READ]

    def everything_read(self) -> list[tuple[str, dict[str, Any]]]:
        """Each call a person reads, and each slash command's answer, by where it went."""
        calls = [(f"{c.method} {c.params.get('channel', '')}", c.params) for c in self.read()]
        return calls + [("the command's answer", ack) for ack in self.acks]
