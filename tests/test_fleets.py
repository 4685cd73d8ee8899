"""Fleets of hundreds of hosts: the deploy message counts them by state and names the ones in
trouble, within Slack's limits; ``/deploy status`` of a big environment answers at once and then
in full; and the environment's SSH pool never holds more connections than its cap — counted by
the kernel's table of TCP connections, and by the transport itself."""

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from slack_sdk import WebClient

from bot.render import notice
from core.actor import Actor
from core.clock import ManualClock
from core.deploy.notices import DeployProgress
from core.deploy.records import DeployView, HostView
from core.deploy.state import DeployKind, DeployState, HostStep
from tests.ci_payloads import generic, signature
from tests.deploy_line import App, newest_ended, toml_value
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.harness import CHANNEL, free_port
from tests.inprocess import InProcessAndon
from tests.ssh_hosts import SshFleet

T0 = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
MARIA = "U0MARIA"
LIVE, OTHER = "a" * 40, "b" * 40
ALIASES = 36  # "hosts" over the session's three sshd, each with its own release root
WEB = 6
CAP = 4


def _host(index: int, step: HostStep, error: str | None = None) -> HostView:
    started = T0 + timedelta(seconds=index % 7)
    return HostView(
        address=f"deploy@web{index:03}.example.com:22",
        step=step,
        previous_revision=OTHER,
        started_at=started,
        finished_at=started + timedelta(seconds=3) if step == HostStep.HEALTHY else None,
        files_sent=2,
        bytes_sent=4096,
        error=error,
    )


def _deploy(hosts: list[HostView]) -> DeployView:
    return DeployView(
        id=7,
        kind=DeployKind.DEPLOY,
        environment="production",
        revision=LIVE,
        status=DeployState.RUNNING,
        requested_by=Actor(MARIA, "maria", "slack"),
        requested_at=T0,
        approved_by=None,
        fix_reason=None,
        started_at=T0,
        finished_at=None,
        error=None,
        migrated=False,
        hosts=tuple(hosts),
        health_checked=True,
        message_id=1,
    )


def _read(params: dict[str, Any]) -> str:
    """The sections' and the context's texts, as a person reads them."""
    texts = []
    for block in params["blocks"]:
        parts = [block["text"]] if "text" in block else block.get("elements", [])
        texts += [part["text"] for part in parts if isinstance(part.get("text"), str)]
    return "\n".join(texts)


def _post(slack: FakeSlack, deploy: DeployView) -> dict[str, Any]:
    """The progress message, sent to the strict fake Slack as the outbox sends it."""
    client = WebClient(token=BOT_TOKEN, base_url=slack.url)
    client.chat_postMessage(channel=CHANNEL, **notice(DeployProgress(deploy)))
    return slack.calls("chat.postMessage")[-1].params


def test_a_deploy_of_500_hosts_is_counted_by_state_and_names_every_failed_host(
    fake_slack: FakeSlack,
) -> None:
    hosts = [_host(i, HostStep.HEALTHY) for i in range(460)]
    hosts += [_host(i, HostStep.STAGING) for i in range(460, 480)]
    hosts += [
        _host(i, HostStep.FAILED, f"health check: 503 <b>{i}</b> " * 9) for i in range(480, 492)
    ]
    hosts += [_host(i, HostStep.WAITING) for i in range(492, 500)]

    shown = _post(fake_slack, _deploy(hosts))

    text = _read(shown)
    assert "*500 hosts:* 460 healthy · 20 uploading · 12 failed · 8 waiting" in text
    for index in range(480, 492):
        assert f"`deploy@web{index:03}.example.com:22` — :x: failed: health check: 503" in text
    assert "web000" not in text  # the healthy ones are counted, not listed
    assert "&lt;b&gt;480&lt;/b&gt;" in text  # what the host said is shown as text


def test_when_all_500_fail_as_many_as_fit_are_named_and_the_rest_counted(
    fake_slack: FakeSlack,
) -> None:
    hosts = [_host(i, HostStep.FAILED, "connection refused " * 20) for i in range(500)]

    shown = _post(fake_slack, _deploy(hosts))

    text = _read(shown)
    assert "*500 hosts:* 500 failed" in text
    named = text.count(":x: failed:")
    assert 20 < named < 500
    assert f"… and {500 - named} more hosts in trouble: `GET /api/deploys`" in text
    assert len(shown["blocks"]) <= 50


# --- /deploy status on a big environment, through a capped pool ------------------------------


def _aliases(fleet: SshFleet, root: Path, dead_port: int) -> tuple[Path, list[str]]:
    """An ssh_config naming ``ALIASES`` hosts over the fleet's sshd (h00…, and w0… for the
    ``web`` environment), and one no sshd answers."""
    lines, names = [], []
    for index in range(ALIASES):
        host = fleet.hosts[index % len(fleet.hosts)]
        names.append(f"h{index:02}")
        lines.append(f"Host h{index:02} w{index}\n  HostName 127.0.0.1\n  Port {host.port}\n")
    names.append("gone")
    lines.append(f"Host gone\n  HostName 127.0.0.1\n  Port {dead_port}\n")
    config = root / "ssh_config"
    config.write_text("".join(lines) + f"Host *\n  User {fleet.user}\n")
    return config, names


def _release_roots(fleet: SshFleet) -> list[str]:
    """Each alias's root: all on ``LIVE`` but h05 and h17, on ``OTHER``."""
    roots = []
    for index in range(ALIASES):
        root = Path(fleet.hosts[index % len(fleet.hosts)].path) / f"h{index:02}"
        root.mkdir(parents=True, exist_ok=True)
        runs = OTHER if index in (5, 17) else LIVE
        os.symlink(f"releases/{runs}", root / "current")
        roots.append(str(root))
    return roots


class OpenConnections:
    """The most TCP connections to the fleet's sshd open at once, as the kernel lists them
    (ESTABLISHED, from a port that is not an sshd's to one that is). The kernel's table is not
    read in one instant — a connection closed and another opened meanwhile may both show — so
    a connection counts when two reads in a row list it."""

    def __init__(self, fleet: SshFleet) -> None:
        self._ports = {f"{host.port:04X}" for host in fleet.hosts}
        self._done = threading.Event()
        self.most = 0
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> "OpenConnections":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=10)

    def listed(self) -> set[tuple[str, str]]:
        found = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as rows:
                for row in list(rows)[1:]:
                    local, remote, state = row.split()[1:4]
                    ours = local.rsplit(":", 1)[1] not in self._ports
                    if state == "01" and ours and remote.rsplit(":", 1)[1] in self._ports:
                        found.add((local, remote))
        return found

    def _watch(self) -> None:
        while not self._done.wait(0.002):
            first = self.listed()
            if len(first) > self.most:
                self.most = max(self.most, len(first & self.listed()))


def _environment(name: str, hosts: list[tuple[str, str]], fleet: SshFleet, config: Path) -> str:
    tables = ", ".join(f'{{ host = "{host}", path = {toml_value(root)} }}' for host, root in hosts)
    return "\n".join(
        [
            f"[environments.{name}]",
            'path = "/srv/unused"',
            f"hosts = [{tables}]",
            f"ssh_key = {toml_value(str(fleet.key_path))}",
            f"known_hosts = {toml_value(str(fleet.known_hosts_path))}",
            f"ssh_config = {toml_value(str(config))}",
            f"max_connections = {CAP}",
            "max_parallel = 3",
            "rollback_stops_line = false",
        ]
    )


@dataclass
class Big:
    andon: InProcessAndon
    app: App

    def release(self, message: str) -> str:
        """A commit CI passed."""
        revision = self.app.commit(message, {"app.py": f"print({message!r})\n"})
        body = json.dumps(generic(revision, "passed", run_id=revision[:8])).encode()
        headers = {"Content-Type": "application/json", "X-Andon-Signature": signature(body)}
        url = self.andon.url + "/hooks/ci/generic"
        answer = requests.post(url, data=body, headers=headers, timeout=10)
        assert answer.status_code in (200, 202), answer.text
        return revision

    def deploys(self) -> list[dict[str, Any]]:
        return self.andon.api("/api/deploys")["deploys"]


@pytest.fixture
def big(tmp_path: Path, fake_slack: FakeSlack, fleet: SshFleet) -> Iterator[Big]:
    """``big``: the ``ALIASES`` hosts and one gone; ``web``: eight hosts to deploy to, each
    through a pool of ``CAP`` connections."""
    fake_slack.forget()
    ssh_config, names = _aliases(fleet, tmp_path, free_port())
    roots = [*_release_roots(fleet), str(tmp_path / "gone")]
    web = [(f"w{i}", f"{fleet.hosts[i % 3].path}/w{i}") for i in range(WEB)]
    app = App(tmp_path / "git")
    config = "\n".join(
        [
            f'[slack]\nchannel = "{CHANNEL}"',
            f'[access]\ndeployers = ["{MARIA}"]\nadmins = ["{MARIA}"]',
            f"[repo]\npath = {toml_value(str(app.clone))}",
            _environment("big", list(zip(names, roots, strict=True)), fleet, ssh_config),
            _environment("web", web, fleet, ssh_config),
        ]
    )
    andon = InProcessAndon(
        tmp_path / "andon", config=config + "\n", slack=fake_slack, clock=ManualClock(T0)
    ).start()
    yield Big(andon, app)
    andon.stop()


def test_status_of_a_big_environment_answers_at_once_then_in_full_within_the_cap(
    big: Big, fake_slack: FakeSlack, fleet: SshFleet
) -> None:
    with OpenConnections(fleet) as opened:
        first = big.andon.slash("/deploy", "status big", user=MARIA)
        answered = fake_slack.wait_for("response_url", timeout=60)[-1].params

    assert first.startswith(f"Checking {ALIASES + 1} hosts of big…")
    assert answered["replace_original"] is True
    text = _read(answered)
    assert f"*{ALIASES + 1} hosts:* 34 on `aaaaaaa` · 2 on `bbbbbbb` · 1 unreachable" in text
    assert "• `gone` — unreachable: gone:" in text  # every odd host named, in trouble first
    assert "• `h05` — `bbbbbbb`" in text and "• `h17` — `bbbbbbb`" in text
    assert "h04" not in text
    transport = big.andon.andon.deployer.hosts("big")._ssh  # type: ignore[union-attr]
    assert transport.dialled >= ALIASES  # past the cap, idle connections made room
    assert transport.most_open <= CAP
    assert 1 <= opened.most <= CAP


def test_a_deploy_and_a_rollback_of_more_hosts_than_the_pool_holds_reach_every_host(
    big: Big, fake_slack: FakeSlack, fleet: SshFleet
) -> None:
    first, second = big.release("first"), big.release("second")
    steps = [
        ("/deploy", f"{first} web"),
        ("/deploy", f"{second} web"),
        ("/rollback", f"web {first}"),
    ]
    with OpenConnections(fleet) as opened:
        for count, (command, text) in enumerate(steps, start=1):
            big.andon.slash(command, text, user=MARIA)
            ended = newest_ended(big.deploys, count=count)
            assert ended["status"] == "succeeded", ended
    big.andon.deliver()

    for index in range(WEB):
        live = Path(fleet.hosts[index % 3].path) / f"w{index}" / "current" / "REVISION"
        assert live.read_text().strip() == first
    shown = _read(fake_slack.calls("chat.update")[-1].params)
    assert f"Rolled back* *web* to `{first[:7]}`" in shown
    assert f"{WEB}/{WEB} hosts live" in shown
    assert 1 <= opened.most <= CAP
