"""Fixtures that start real components once per session: the fake Slack, PostgreSQL, SSH hosts."""

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.slack import ALIVE, FakeSlack
from tests.postgres import PostgresCluster, server_binaries
from tests.ssh_hosts import SSHD, SshFleet

_names = itertools.count(1)


@pytest.fixture(autouse=True)
def slack_refuses_nothing() -> Iterator[None]:
    """Andon once passed every test and still lost pages on real Slack: a test fails when Andon
    sent anything Slack would refuse, unless the test said it provokes that on purpose."""
    seen = {}
    for fake in list(ALIVE):
        fake.expecting_refusals = False
        seen[id(fake)] = len(fake.refusals())
    yield
    refused = [
        refusal
        for fake in list(ALIVE)
        if not fake.expecting_refusals
        for refusal in fake.refusals()[seen.get(id(fake), 0) :]
    ]
    if refused:
        lines = [f"{r.method}: {r.error} — {r.detail}" for r in refused[:5]]
        pytest.fail("Slack would refuse what Andon sent:\n" + "\n".join(lines), pytrace=False)


@pytest.fixture(scope="session")
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    binaries = server_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries (initdb) on this machine")
    try:
        cluster = PostgresCluster(binaries).start()
    except KeyError:
        pytest.skip("running as root but there is no 'postgres' user to own the cluster")
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind Andon supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'andon.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.create_database(f"andon_{next(_names)}")


@pytest.fixture(scope="session")
def ssh_fleet() -> Iterator[SshFleet]:
    """Three SSH hosts on loopback, started once: sshd is ready in milliseconds, keys are not."""
    if not Path(SSHD).exists():
        pytest.skip(f"no OpenSSH server ({SSHD}): apt-get install openssh-server")
    with SshFleet(3) as fleet:
        yield fleet


@pytest.fixture
def fleet(ssh_fleet: SshFleet) -> SshFleet:
    """The session's hosts with empty app directories and every sshd running again."""
    ssh_fleet.reset()
    return ssh_fleet
