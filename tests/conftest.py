"""Fixtures shared by every test: real components started once per session (the fake Slack,
PostgreSQL, SSH hosts), a migrated database of each kind, a clock the test moves, and a notifier
that records what core said."""

import gc
import itertools
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.clock import ManualClock
from storage import migrate
from storage.database import Database
from tests.fakes.slack import ALIVE, FakeSlack
from tests.notifier import RecordingNotifier
from tests.postgres import PostgresCluster, server_binaries
from tests.ssh_hosts import SSHD, SshFleet

_names = itertools.count(1)
gc.disable()  # until the tests are collected: pytest_runtestloop


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Collecting imports every test module and the whole of Andon and builds the items: objects
    that live the whole session, which the cycle collector would walk again and again for
    nothing (a third of a worker's collection). Frozen, they are never walked again; the tests
    run with the collector on (in each worker, and in xdist's controller, which collects
    nothing)."""
    gc.freeze()
    gc.enable()


KINDS = ("sqlite", "postgresql")  # the databases Andon supports
T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # where the ``clock`` starts: a Thursday, 14:00


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that needs a database runs on each kind, unless it (or its module) is marked
    ``databases("sqlite")``: a rule no database can change is tested once."""
    if "database_kind" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("databases")
        kinds = marker.args if marker is not None else KINDS
        metafunc.parametrize("database_kind", kinds, indirect=True)


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


@pytest.fixture
def database_kind(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``: each in turn (``pytest_generate_tests``)."""
    return str(request.param)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, database_kind: str, tmp_path: Path) -> str:
    """A fresh, empty database of each kind Andon supports."""
    if database_kind == "sqlite":
        return f"sqlite:///{tmp_path / 'andon.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.create_database(f"andon_{next(_names)}")


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per session: a test's own is a copy (a migration costs
    ten times as much)."""
    path = tmp_path_factory.mktemp("migrated") / "andon.db"
    _migrated(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def migrated_postgres(postgres: PostgresCluster) -> str:
    """A PostgreSQL database migrated once per session, the template of each test's own."""
    name = "andon_migrated"
    _migrated(postgres.create_database(name))
    return name


@pytest.fixture
def database(
    request: pytest.FixtureRequest, database_kind: str, tmp_path: Path
) -> Iterator[Database]:
    """A fresh database of each kind at the newest schema, as ``andon serve`` leaves it."""
    if database_kind == "sqlite":
        path = tmp_path / "andon.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        url = f"sqlite:///{path}"
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        template = request.getfixturevalue("migrated_postgres")
        url = cluster.create_database(f"andon_{next(_names)}", template=template)
    database = Database(url)
    yield database
    database.dispose()


def _migrated(url: str) -> None:
    database = Database(url)
    try:
        migrate.upgrade(database)
    finally:
        database.dispose()  # nobody stays connected: a template must have no sessions


@pytest.fixture
def clock() -> ManualClock:
    """Time that moves only when the test says so, from ``T0``."""
    return ManualClock(T0)


@pytest.fixture
def notifier() -> RecordingNotifier:
    """What core told people, recorded instead of sent (``notifier.on(session)`` for core)."""
    return RecordingNotifier()


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
