"""``/deploy status``: which host runs which revision — asked of the hosts themselves."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from sqlmodel import Session

from core import audit
from core.actor import Actor
from core.audit import Outcome
from core.clock import Clock
from core.config.file import AndonConfig
from core.config.hosts import Environment, Host
from core.deploy import lease, records, releases
from core.deploy.records import DeployView
from core.deploy.transport import HostError, Transport
from core.refusal import Refusal

ACTION = "deploy.status"  # the audit log's name for ``/deploy status``


@dataclass(frozen=True)
class HostState:
    address: str
    revision: str | None
    problem: str | None = None


@dataclass(frozen=True)
class EnvironmentState:
    name: str
    hosts: tuple[HostState, ...]
    recorded: str | None  # what finished deploys say it runs
    bad: tuple[str, ...]
    running: DeployView | None


@dataclass(frozen=True)
class DeployStatus:
    environments: tuple[EnvironmentState, ...]


def asked(
    session: Session,
    *,
    clock: Clock,
    actor: Actor,
    config: AndonConfig,
    environment: str | None,
    reachable: bool,
) -> Refusal | None:
    """Audited once the question is known to be one Andon can answer, refused or not;
    ``reachable``: this process has a way to the hosts."""
    refusal = None
    if environment is not None and environment not in config.environments:
        refusal = Refusal(f"{environment!r} is not an environment.")
    elif not config.environments or not reachable:
        refusal = Refusal(
            "No environments are configured — add `[environments.<name>]` to andon.toml."
        )
    audit.record(
        session,
        clock=clock,
        actor=actor,
        action=ACTION,
        outcome=Outcome.OK if refusal is None else Outcome.REFUSED,
        detail=environment or "",
        message=refusal.reason if refusal is not None else "",
    )
    return refusal


def status(
    session: Session,
    *,
    config: AndonConfig,
    clock: Clock,
    transport_for: Callable[[str], Transport],
    environment: str | None = None,
) -> DeployStatus:
    names = [environment] if environment else list(config.environments)
    found = []
    for name in names:
        env = config.environments[name]
        live = records.live(session, name)
        holding = lease.holding(session, environment=name, clock=clock)
        hosts = ask(transport_for(name), env)
        found.append(
            EnvironmentState(
                name=name,
                hosts=hosts,
                recorded=live.revision if live else None,
                bad=tuple(records.bad_revisions(session, name)),
                running=records.view(session, holding) if holding else None,
            )
        )
    return DeployStatus(tuple(found))


def ask(transport: Transport, env: Environment) -> tuple[HostState, ...]:
    """Every host of an environment at once: what its ``current`` points at, or why unknown."""
    with ThreadPoolExecutor(max_workers=max(1, min(len(env.hosts), 20))) as pool:
        return tuple(pool.map(partial(_ask, transport, env), env.hosts))


def _ask(transport: Transport, env: Environment, host: Host) -> HostState:
    try:
        connection = transport.connect(host)
        try:
            revision = releases.live_revision(connection, env.host_path(host))
        finally:
            connection.close()
    except HostError as error:
        return HostState(host.address, None, str(error))
    return HostState(host.address, revision)
