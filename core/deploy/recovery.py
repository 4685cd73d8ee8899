"""After a crash: deploys nobody runs any more are marked interrupted and their lock freed.

Nothing on the hosts needs repair — a release exists only once complete and ``current`` is
flipped atomically — but people need to hear that the deploy stopped half-way, and where each
host stands. The record cannot know (the process died between a flip and writing it down), so
the hosts are asked first, outside any transaction, and their answers are written with the
sweep: the interrupted message says once what each host runs.
"""

from collections.abc import Callable, Mapping

from sqlmodel import Session, col, select

from core.clock import Clock
from core.deploy import lease, records
from core.deploy.notices import DeployProgress
from core.deploy.state import UNSETTLED, DeployState, HostStep, move, step
from core.deploy.status import HostState
from core.notifier import MessageRef, Notifier
from storage.tables import Deploy, DeployHost, DeployLock

Standing = Mapping[str, HostState]  # by host address
UNFINISHED = (DeployState.PENDING, DeployState.RUNNING)


def abandoned(
    session: Session, *, clock: Clock, is_dead: Callable[[str | None], bool]
) -> list[tuple[int, str]]:
    """Unfinished deploys whose process died or whose lease ran out: (id, environment)."""
    found = []
    for deploy in records.unfinished(session):
        assert deploy.id is not None
        lock = session.get(DeployLock, deploy.environment)
        ours = lock is not None and lock.deploy_id == deploy.id
        if ours and not lease.expired(lock, clock) and not is_dead(deploy.holder):
            continue
        found.append((deploy.id, deploy.environment))
    return found


def sweep(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    is_dead: Callable[[str | None], bool],
    standing: Mapping[int, Standing] | None = None,
) -> list[int]:
    """Mark interrupted every abandoned deploy, with what its hosts said they run."""
    swept = []
    for deploy_id, environment in abandoned(session, clock=clock, is_dead=is_dead):
        deploy = _still_unfinished(session, deploy_id)
        if deploy is None:
            continue  # another replica swept it first
        move(deploy, DeployState.INTERRUPTED)
        deploy.finished_at = clock.now()
        deploy.error = "Andon stopped in the middle of it — every host points at a complete release"
        session.add(deploy)
        _settle_hosts(session, deploy_id, (standing or {}).get(deploy_id, {}))
        lease.release(session, environment=environment, deploy_id=deploy_id)
        if deploy.message_id is not None:
            notifier.update(
                MessageRef(deploy.message_id), DeployProgress(records.view(session, deploy_id))
            )
        swept.append(deploy_id)
    return swept


def _still_unfinished(session: Session, deploy_id: int) -> Deploy | None:
    """The deploy, locked for this sweep, unless a sweep beside this one settled it meanwhile:
    replicas sweep on every tick, and the deploy is said interrupted once."""
    query = select(Deploy).where(col(Deploy.id) == deploy_id).with_for_update()
    deploy = session.exec(query.execution_options(populate_existing=True)).one()
    return deploy if DeployState(deploy.status) in UNFINISHED else None


def _settle_hosts(session: Session, deploy_id: int, answers: Standing) -> None:
    rows = session.exec(select(DeployHost).where(col(DeployHost.deploy_id) == deploy_id)).all()
    for row in rows:
        if HostStep(row.step) not in UNSETTLED:
            continue
        step(row, HostStep.STOPPED)
        answer = answers.get(row.address)
        if answer is None:
            row.error = "not asked: its environment is no longer configured"
        elif answer.revision is None:
            row.error = answer.problem or "it has no current release"
        else:
            row.runs = answer.revision
        session.add(row)
