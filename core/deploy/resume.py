"""``/deploy resume [environment]``: a deploy interrupted between batches, continued.

Nothing on the hosts needs repair after an interruption — each runs a complete release — so
where the deploy stopped between batches, the rest of it can go on instead of starting over.
The interrupted deploy stays on record as interrupted; a new deploy, linked to it, takes the
environment's lock, continues in the same channel message ("resumed by …") and runs only the
batches left. Every rule of ``/deploy`` applies (the line stopped refuses it unless ``fix:``),
except that the revision may be live already (the hosts done are).
"""

from dataclasses import dataclass
from functools import partial

from sqlalchemy import insert
from sqlmodel import Session

from core import audit, line
from core.actor import Actor
from core.audit import Outcome
from core.deploy import records
from core.deploy.deployable import Ask, may_deploy, user_may_deploy
from core.deploy.named import ChooseEnvironment
from core.deploy.request import Accepted, Context, start
from core.deploy.resumable import Interrupted, NothingToResume, find, unsafe
from core.deploy.state import DeployKind, HostStep
from core.refusal import Refusal
from storage.database import scrubbed
from storage.tables import Deploy, DeployHost

RESUME_ACTION = "deploy.resume"  # the audit log's name for ``/deploy resume``


@dataclass(frozen=True)
class ResumeWish:
    environment: str | None = None
    fix_reason: str | None = None
    override_bad: bool = False


def resume(
    session: Session, ctx: Context, *, actor: Actor, wish: ResumeWish
) -> Accepted | NothingToResume | ChooseEnvironment | Refusal:
    """Continue the newest interrupted deploy of the environment, when that is safe."""
    record = partial(audit.record, session, clock=ctx.clock, actor=actor, action=RESUME_ACTION)
    found = find(session, ctx.config, wish.environment)
    if isinstance(found, NothingToResume):
        record(outcome=Outcome.OK, detail=wish.environment or "", message=found.sentence)
        return found
    if not isinstance(found, Interrupted):
        said = found.reason if isinstance(found, Refusal) else "asked which environment"
        record(outcome=Outcome.REFUSED, detail=wish.environment or "", message=said)
        return found
    interrupted = found.deploy
    detail = f"#{interrupted.id} {interrupted.revision[:7]} to {interrupted.environment}"
    refusal = _refusal(session, ctx, actor=actor, wish=wish, found=found)
    if refusal is not None:
        record(outcome=Outcome.REFUSED, detail=detail, message=refusal.reason)
        return refusal
    row, hosts = _continued(session, ctx, actor=actor, wish=wish, found=found)
    started = start(session, ctx, row, hosts)
    if isinstance(started, Refusal):
        record(outcome=Outcome.REFUSED, detail=detail, message=started.reason)
        return started
    record(outcome=Outcome.OK, detail=detail, message=f"deploy #{started.id} resumes it")
    return Accepted(started)


def _refusal(
    session: Session, ctx: Context, *, actor: Actor, wish: ResumeWish, found: Interrupted
) -> Refusal | None:
    """Who may first, then whether it is safe, then ``/deploy``'s rules for the revision."""
    deploy = found.deploy
    ask = Ask(ctx.config, ctx.clock, deploy.revision, deploy.environment, actor)
    refusal = user_may_deploy(session, ask) or unsafe(found, ctx.config)
    if refusal is not None:
        return refusal
    now = line.current(session)
    fix = _fix_reason(wish, deploy) is not None and now.stoppage_id is not None
    refusal = may_deploy(
        session,
        config=ctx.config,
        clock=ctx.clock,
        revision=deploy.revision,
        environment=deploy.environment,
        actor=actor,
        fix=fix,
        override_bad=wish.override_bad or deploy.overrode is not None,
        again=True,  # the hosts done run it already: that is the point
        line=now,
    )
    if refusal is None:
        return None
    # what gets through is this resume with those words, not a new deploy of the revision
    said = refusal.reason.replace(f"`/deploy {deploy.revision[:7]} ", "`/deploy resume ")
    return Refusal(said, rule=refusal.rule)


def _fix_reason(wish: ResumeWish, deploy: Deploy) -> str | None:
    """A fix stays a fix when it is resumed: its reason was said when it was asked for."""
    return wish.fix_reason or deploy.fix_reason


def _shown_fix(session: Session, wish: ResumeWish, deploy: Deploy) -> str | None:
    """As with ``/deploy``, a ``fix:`` said while the line runs is not kept; a fix's stays."""
    stopped = line.current(session).stoppage_id is not None
    return wish.fix_reason if wish.fix_reason and stopped else deploy.fix_reason


def _continued(
    session: Session, ctx: Context, *, actor: Actor, wish: ResumeWish, found: Interrupted
) -> tuple[Deploy, list[DeployHost]]:
    """The new deploy, its hosts born where the interrupted one left them: live, or staged."""
    old = found.deploy
    bad = records.release(session, old.environment, old.revision) if wish.override_bad else None
    overrode = (bad.bad_reason or "marked bad") if bad is not None and bad.bad else None
    row = Deploy(
        kind=DeployKind.DEPLOY,
        environment=old.environment,
        revision=old.revision,
        requested_at=ctx.clock.now(),
        requested_by=old.requested_by,
        requested_by_name=old.requested_by_name,
        via=old.via,
        approved_by=old.approved_by,
        approved_by_name=old.approved_by_name,
        holder=ctx.holder,
        committed_at=old.committed_at,
        fix_reason=_shown_fix(session, wish, old),
        overrode=overrode or old.overrode,
        migrated=old.migrated,
        message_id=old.message_id,
        resumes=old.id,
        resumed_by=actor.id,
        resumed_by_name=actor.name,
        resumed_via=actor.via,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    hosts = [_host(row.id, host) for host in found.hosts]
    values = [scrubbed(session, {name: getattr(host, name) for name in _COPIED}) for host in hosts]
    session.execute(insert(DeployHost), values)
    return row, hosts


_COPIED = (
    "deploy_id",
    "position",
    "address",
    "step",
    "previous_revision",
    "started_at",
    "staged_at",
    "activated_at",
    "finished_at",
    "files_sent",
    "bytes_sent",
)


def _host(deploy_id: int, host: DeployHost) -> DeployHost:
    """A host done stays live and healthy; any other waits with the release staged."""
    done = host.step == HostStep.HEALTHY
    return DeployHost(
        deploy_id=deploy_id,
        position=host.position,
        address=host.address,
        step=(HostStep.HEALTHY if done else HostStep.STAGED).value,
        previous_revision=host.previous_revision,
        started_at=host.started_at,
        staged_at=host.staged_at,
        activated_at=host.activated_at if done else None,
        finished_at=host.finished_at if done else None,
        files_sent=host.files_sent,
        bytes_sent=host.bytes_sent,
    )
