"""After a crash: deploys nobody runs any more are marked interrupted and their lock freed.

Nothing on the hosts needs repair — a release exists only once complete and ``current`` is
flipped atomically — but people need to hear that the deploy stopped half-way, and where
each host stands (``/deploy status``).
"""

from collections.abc import Callable

from sqlmodel import Session

from core.clock import Clock
from core.deploy import lease, records
from core.deploy.notices import DeployProgress
from core.deploy.state import DeployState, move
from core.notifier import MessageRef, Notifier
from storage.tables import DeployLock


def sweep(
    session: Session, *, notifier: Notifier, clock: Clock, is_dead: Callable[[str | None], bool]
) -> list[int]:
    """Mark interrupted every unfinished deploy whose process died or whose lease ran out."""
    swept = []
    for deploy in records.unfinished(session):
        assert deploy.id is not None
        lock = session.get(DeployLock, deploy.environment)
        ours = lock is not None and lock.deploy_id == deploy.id
        if ours and not lease.expired(lock, clock) and not is_dead(deploy.holder):
            continue
        move(deploy, DeployState.INTERRUPTED)
        deploy.finished_at = clock.now()
        deploy.error = (
            "Andon stopped in the middle of it — every host points at a complete release; "
            "`/deploy status` shows which"
        )
        session.add(deploy)
        lease.release(session, environment=deploy.environment, deploy_id=deploy.id)
        if deploy.message_id is not None:
            notifier.update(
                MessageRef(deploy.message_id), DeployProgress(records.view(session, deploy.id))
            )
        swept.append(deploy.id)
    return swept
