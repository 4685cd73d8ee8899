"""SSH as the team configures it: a host named by its alias in an ssh_config, reached through a
bastion by ``ProxyJump``. Two loopback sshd: the first is the jump host (at ``LogLevel DEBUG1``
its log shows every ``direct-tcpip`` forward, which proves the path), the second the host. The
deploys run through the in-process server."""

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.hosts.ssh import SshTransport
from core.clock import ManualClock
from core.config.hosts import Host
from tests.ci_payloads import generic, signature
from tests.deploy_line import App, newest_ended, toml_value
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, andon_env, run_cli
from tests.inprocess import InProcessAndon
from tests.ssh_hosts import SshFleet

T0 = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
MARIA = "U0MARIA"
BASTION, WEB = 0, 1


@pytest.fixture(scope="module")
def pair() -> Iterator[SshFleet]:
    """The jump host and the host, both logging at DEBUG1."""
    with SshFleet(2, log_level="DEBUG1") as fleet:
        yield fleet


def ssh_config(fleet: SshFleet, path: Path) -> Path:
    """What an SRE writes: the host by an alias, through the bastion; the key in IdentityFile."""
    path.write_text(
        f"Host bastion\n  HostName 127.0.0.1\n  Port {fleet.hosts[BASTION].port}\n"
        f"  User {fleet.user}\n  IdentityFile {fleet.key_path}\n"
        f"Host web\n  HostName 127.0.0.1\n  Port {fleet.hosts[WEB].port}\n"
        f"  User {fleet.user}\n  IdentityFile {fleet.key_path}\n  ProxyJump bastion\n"
    )
    return path


def forwards_to(fleet: SshFleet, port: int) -> int:
    """How often the jump host's sshd forwarded a connection to ``port``; OpenSSH 9.2 logs
    ``server_request_direct_tcpip: originator 127.0.0.1 port 0, target 127.0.0.1 port N``
    (``ssh -W`` sends originator port 65535)."""
    line = (
        rf"server_request_direct_tcpip: originator \S+ port \d+, target 127\.0\.0\.1 port {port}$"
    )
    return len(re.findall(line, fleet.hosts[BASTION].log, flags=re.MULTILINE))


class AliasLine:
    """An in-process Andon whose ``production`` is ``hosts = ["web"]`` and an ssh_config."""

    def __init__(self, root: Path, slack: FakeSlack, *, fleet: SshFleet, known_hosts: Path):
        slack.forget()
        self.app = App(root / "git")
        production = {
            "path": fleet.hosts[WEB].path,
            "hosts": ["web"],
            "ssh_config": str(ssh_config(fleet, root / "ssh_config")),
            "known_hosts": str(known_hosts),
            "health_timeout": "2s",
        }
        config = "\n".join(
            [
                f'[slack]\nchannel = "{CHANNEL}"',
                f'[access]\ndeployers = ["{MARIA}"]\nadmins = ["{MARIA}"]',
                f"[repo]\npath = {toml_value(str(self.app.clone))}",
                "[environments.production]",
                *(f"{key} = {toml_value(value)}" for key, value in production.items()),
            ]
        )
        self.andon = InProcessAndon(
            root / "andon", config=config + "\n", slack=slack, clock=ManualClock(T0)
        ).start()

    def release(self, message: str) -> str:
        """A commit CI passed."""
        revision = self.app.commit(message, {"app.py": f"print({message!r})\n"})
        body = json.dumps(generic(revision, "passed", run_id=revision[:8])).encode()
        headers = {"Content-Type": "application/json", "X-Andon-Signature": signature(body)}
        answer = requests.post(
            self.andon.url + "/hooks/ci/generic", data=body, headers=headers, timeout=10
        )
        assert answer.status_code in (200, 202), answer.text
        return revision

    def finished(self, timeout: float = 60.0) -> dict[str, Any]:
        return newest_ended(lambda: self.andon.api("/api/deploys")["deploys"], timeout=timeout)


@pytest.fixture
def alias_line(tmp_path: Path, fake_slack: FakeSlack, pair: SshFleet) -> Iterator[Any]:
    started: list[AliasLine] = []

    def make(known_hosts: Path) -> AliasLine:
        started.append(AliasLine(tmp_path, fake_slack, fleet=pair, known_hosts=known_hosts))
        return started[-1]

    yield make
    for line in started:
        line.andon.stop()


def test_a_deploy_reaches_the_host_by_its_alias_only_through_the_bastion(
    alias_line: Any, pair: SshFleet
) -> None:
    pair.reset()
    before = forwards_to(pair, pair.hosts[WEB].port)
    line = alias_line(pair.known_hosts_path)
    revision = line.release("first")

    answer = line.andon.slash("/deploy", "", user=MARIA)

    assert f"Deploying {revision[:7]} to production" in answer
    deploy = line.finished()
    assert deploy["status"] == "succeeded", deploy
    assert [h["address"] for h in deploy["hosts"]] == ["web"]
    live = Path(pair.hosts[WEB].path) / "current" / "REVISION"
    assert live.read_text().strip() == revision
    assert forwards_to(pair, pair.hosts[WEB].port) > before  # the path went through the bastion


def test_a_bastion_whose_host_key_changed_is_refused_by_name_and_nothing_goes_live(
    alias_line: Any, pair: SshFleet, tmp_path: Path
) -> None:
    pair.reset()
    tampered = tmp_path / "known_hosts"
    tampered.write_text(  # the host's own key is right; the bastion's is another's
        f"[127.0.0.1]:{pair.hosts[BASTION].port} {pair.host_key(WEB)}\n"
        f"[127.0.0.1]:{pair.hosts[WEB].port} {pair.host_key(WEB)}\n"
    )
    before = forwards_to(pair, pair.hosts[WEB].port)
    line = alias_line(tampered)
    revision = line.release("first")

    line.andon.slash("/deploy", "", user=MARIA)

    deploy = line.finished()
    assert deploy["status"] == "failed", deploy
    cause = line.andon.api("/api/line")["stoppage"]["causes"][0]["text"]
    assert cause.startswith(
        f"deploy of {revision[:7]} failed: web: host key of jump host bastion "
        f"(127.0.0.1:{pair.hosts[BASTION].port}) on the way to web has CHANGED"
    ), cause
    assert not (Path(pair.hosts[WEB].path) / "current").exists()
    assert forwards_to(pair, pair.hosts[WEB].port) == before  # never past the bastion


def test_two_hops_and_a_proxy_command_reach_the_host_too(pair: SshFleet, tmp_path: Path) -> None:
    """``ProxyJump`` with two entries (the bastion, then itself by address), and the older
    ``ProxyCommand ssh -W``: each path shows in the jump host's log."""
    pair.reset()
    config = ssh_config(pair, tmp_path / "ssh_config")
    bastion = f"{pair.user}@127.0.0.1:{pair.hosts[BASTION].port}"
    proxy = (
        f"ssh -F {config} -i {pair.key_path} -o BatchMode=yes -o StrictHostKeyChecking=yes "
        f"-o UserKnownHostsFile={pair.known_hosts_path} -W %h:%p bastion"
    )
    config.write_text(
        config.read_text()
        + f"Host web-twice\n  HostName 127.0.0.1\n  Port {pair.hosts[WEB].port}\n"
        f"  ProxyJump bastion,{bastion}\n"
        + f"Host web-proxied\n  HostName 127.0.0.1\n  Port {pair.hosts[WEB].port}\n"
        f"  ProxyCommand {proxy}\n"
    )
    (Path(pair.hosts[WEB].path) / "here").write_text("")
    transport = SshTransport(str(pair.key_path), str(pair.known_hosts_path), ssh_config=str(config))
    try:
        for alias in ("web-twice", "web-proxied"):
            to_bastion = forwards_to(pair, pair.hosts[BASTION].port)
            to_web = forwards_to(pair, pair.hosts[WEB].port)
            connection = transport.connect(Host(host=alias, user=pair.user))
            assert connection.list_dir(pair.hosts[WEB].path) == ["here"]
            connection.close()
            assert forwards_to(pair, pair.hosts[WEB].port) == to_web + 1, alias
            hops = forwards_to(pair, pair.hosts[BASTION].port) - to_bastion
            assert hops == (1 if alias == "web-twice" else 0), alias
    finally:
        transport.close()


def test_config_check_names_a_missing_ssh_config_and_an_alias_without_a_user(
    tmp_path: Path,
) -> None:
    (tmp_path / "andon.toml").write_text(
        "[environments.production]\n"
        'path = "/srv/app"\nhosts = ["web"]\n'
        f"ssh_config = {toml_value(str(tmp_path / 'absent'))}\n"
        "[environments.staging]\n"
        'path = "/srv/app"\nhosts = ["deploy@web1", "web2"]\nssh_config = "none"\n'
    )
    env = andon_env(tmp_path, database_url=f"sqlite:///{tmp_path / 'andon.db'}", slack=None)

    done = run_cli(["config", "check"], env=env, cwd=tmp_path)

    assert done.returncode == 1, done.stdout
    problems = done.stdout.splitlines()
    assert any(
        "environments.production.ssh_config: cannot read" in p and "absent" in p for p in problems
    ), done.stdout
    assert any(
        "environments.staging.hosts[1]: web2: no user to log in as" in p for p in problems
    ), done.stdout
    assert len(problems) == 2, done.stdout
