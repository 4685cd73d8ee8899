"""Continuous deployment: ``auto_deploy = true`` ships the newest green revision of the line.

Asked on every scheduler tick rather than on each CI result, so several revisions turning
green during one deploy end in one deploy of the newest — never a queue of stale ones. It asks
as Andon's own actor (``core.actor.AUTO_DEPLOY``), which ``[access] deployers`` does not need to
name; every other rule of ``core.deploy.deployable`` holds, and a refusal that would repeat every
tick (the line stopped, a bake not done) is audited once per change of reason — see
``bot.workers.deploys``.
"""

from sqlmodel import Session, col, select

from core.actor import AUTO_DEPLOY
from core.ci.verdict import verdict
from core.clock import Clock
from core.config.file import AndonConfig, CiConfig
from core.deploy import lease, records
from core.deploy.deployable import may_deploy
from core.deploy.source import Source
from core.refusal import Refusal
from storage.tables import CiResult, Deploy

_LOOK_BACK = 50


def candidate(
    session: Session, *, config: AndonConfig, clock: Clock, environment: str, source: Source
) -> str | None:
    """The revision to ship now, or ``None``: the environment free, the newest green revision not
    tried yet and not older than what runs. Whether it may ship is ``refusal``'s to say."""
    if lease.holding(session, environment=environment, clock=clock) is not None:
        return None
    newest = _newest_green(session, config)
    if newest is None or _tried(session, environment, newest):
        return None
    live = records.live(session, environment)
    if live is not None and not source.is_ancestor(live.revision, newest):
        return None  # never ship an older revision over a newer one
    return newest


def _newest_green(session: Session, config: AndonConfig) -> str | None:
    required = list((config.ci or CiConfig()).required)
    seen: set[str] = set()
    for revision in session.exec(
        select(CiResult.revision)
        .where(CiResult.branch == config.line_branch)
        .order_by(col(CiResult.id).desc())
        .limit(_LOOK_BACK)
    ).all():
        if revision in seen:
            continue
        seen.add(revision)
        if verdict(session, revision=revision, required=required).green:
            return revision
    return None


def _tried(session: Session, environment: str, revision: str) -> bool:
    """Auto-deploy tries a revision once; a failure or a rollback is for people to decide."""
    return (
        session.exec(
            select(Deploy.id).where(Deploy.environment == environment, Deploy.revision == revision)
        ).first()
        is not None
    )


def refusal(
    session: Session, *, config: AndonConfig, clock: Clock, environment: str, revision: str
) -> Refusal | None:
    """What ``/deploy`` would answer auto-deploy now — asked before it asks, so a refusal
    already audited is not asked (and audited) again at every tick."""
    return may_deploy(
        session,
        config=config,
        clock=clock,
        revision=revision,
        environment=environment,
        actor=AUTO_DEPLOY,
    )
