"""Fixtures that start real components once per session: the fake Slack, PostgreSQL."""

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.slack import FakeSlack
from tests.postgres import PostgresCluster, server_binaries

_names = itertools.count(1)


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
