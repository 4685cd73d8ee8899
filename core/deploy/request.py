"""``/deploy`` and ``/rollback`` as requests: checked, recorded, locked — then run elsewhere.

A request answers at once (Slack wants an answer in three seconds); the run happens in the
background and reports through the deploy's one progress message.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial

from sqlalchemy import insert
from sqlmodel import Session, select

from core import audit, line
from core.actor import Actor
from core.audit import Outcome
from core.clock import Clock
from core.config.file import AndonConfig
from core.deploy import lease, records, rollback_to
from core.deploy.deployable import Ask as DeployAsk
from core.deploy.deployable import busy, may_deploy, user_may_deploy
from core.deploy.named import ChooseEnvironment, environment_named, revision_named
from core.deploy.notices import ApprovalNeeded, DeployProgress, FixShipping
from core.deploy.records import DeployView
from core.deploy.source import Source, SourceError
from core.deploy.state import DeployKind, DeployState, move
from core.notifier import MessageRef, Notifier
from core.refusal import Refusal
from storage.database import scrubbed
from storage.ids import fits
from storage.tables import Deploy, DeployHost, Stoppage

DEPLOY_ACTION = "deploy"  # the audit log's name for each command
ROLLBACK_ACTION = "rollback"
APPROVE_ACTION = "deploy.approve"


@dataclass(frozen=True)
class DeployWish:
    revision: str | None = None
    environment: str | None = None
    fix_reason: str | None = None
    override_bad: bool = False
    again: bool = False  # the live revision, deployed once more on purpose


@dataclass(frozen=True)
class RollbackWish:
    environment: str | None = None
    revision: str | None = None
    confirmed: bool = False


@dataclass(frozen=True)
class Where:
    """Which revision, to which environment: both found to exist."""

    environment: str
    revision: str


@dataclass(frozen=True)
class Accepted:
    """Recorded and locked: the caller starts the run (unless it waits for approval)."""

    deploy: DeployView

    @property
    def runs_now(self) -> bool:
        return self.deploy.status == DeployState.PENDING


@dataclass(frozen=True)
class ConfirmRollback:
    """A rollback across migrations: the schema may not go back with the code."""

    environment: str
    revision: str
    sentence: str


@dataclass(frozen=True)
class Context:
    """What every request needs besides the session."""

    notifier: Notifier
    clock: Clock
    config: AndonConfig
    source: Source | None
    holder: str


def deploy(
    session: Session, ctx: Context, *, actor: Actor, wish: DeployWish
) -> Accepted | ChooseEnvironment | Refusal:
    record = partial(audit.record, session, clock=ctx.clock, actor=actor, action=DEPLOY_ACTION)
    found = environment_named(ctx.config, wish.environment, DeployKind.DEPLOY)
    if isinstance(found, ChooseEnvironment) and wish.revision is not None:
        # "/deploy prodution": a mistyped environment, not a question of which one
        unknown = _revision(ctx, wish.revision)
        found = unknown if isinstance(unknown, Refusal) else found
    if not isinstance(found, str):
        record(outcome=Outcome.REFUSED, detail=wish.revision or "", message=_said(found))
        return found
    revision = _revision(ctx, wish.revision or ctx.config.line_branch)
    if isinstance(revision, Refusal):
        detail = f"{wish.revision} to {found}"
        record(outcome=Outcome.REFUSED, detail=detail, message=revision.reason)
        return revision
    detail = f"{revision[:7]} to {found}"
    detail += f" (fix: {wish.fix_reason})" if wish.fix_reason else ""
    where = Where(found, revision)
    return _deploy(
        session, ctx, actor=actor, wish=wish, where=where, record=partial(record, detail=detail)
    )


def _deploy(
    session: Session, ctx: Context, *, actor: Actor, wish: DeployWish, where: Where, record: partial
) -> Accepted | Refusal:
    """A revision that exists, to an environment that does: checked, recorded, started — the
    line read once, for the checks and for a fix's word in the stoppage's thread."""
    now = line.current(session)
    fix = wish.fix_reason is not None and now.stoppage_id is not None
    refusal = may_deploy(
        session,
        config=ctx.config,
        clock=ctx.clock,
        revision=where.revision,
        environment=where.environment,
        actor=actor,
        fix=fix,
        override_bad=wish.override_bad,
        again=wish.again,
        line=now,
    )
    if refusal is not None:
        record(outcome=Outcome.REFUSED, message=refusal.reason)
        return refusal
    bad = records.release(session, where.environment, where.revision) if wish.override_bad else None
    row, hosts = _new(
        session,
        ctx,
        kind=DeployKind.DEPLOY,
        where=where,
        actor=actor,
        fix_reason=wish.fix_reason if fix else None,
        overrode=(bad.bad_reason or "marked bad") if bad is not None and bad.bad else None,
    )
    if ctx.config.environments[where.environment].require_approval:
        return _await_approval(session, ctx, row, hosts, record=record)
    started = start(session, ctx, row, hosts)
    if isinstance(started, Refusal):
        record(outcome=Outcome.REFUSED, message=started.reason)
        return started
    if fix and now.stoppage_id is not None:
        _tell_stoppage(session, ctx, now.stoppage_id, started)
    record(outcome=Outcome.OK, message=f"deploy #{started.id}")
    return Accepted(started)


def approve(session: Session, ctx: Context, *, actor: Actor, deploy_id: int) -> Accepted | Refusal:
    """The Approve button: someone else with deploy access lets a waiting request run."""
    record = partial(audit.record, session, clock=ctx.clock, actor=actor, action=APPROVE_ACTION)
    row = session.get(Deploy, deploy_id) if fits(deploy_id) else None
    refusal = _approval_refusal(session, ctx, row, actor)
    if refusal is not None or row is None:
        refusal = refusal or Refusal(f"There is no deploy #{deploy_id}.")
        record(outcome=Outcome.REFUSED, detail=f"#{deploy_id}", message=refusal.reason)
        return refusal
    row.approved_by, row.approved_by_name = actor.id, actor.name
    move(row, DeployState.PENDING)
    started = start(session, ctx, row)
    if isinstance(started, Refusal):  # another deploy won the lock: the request keeps waiting
        move(row, DeployState.AWAITING_APPROVAL)
        row.approved_by, row.approved_by_name = None, None
        session.add(row)
        record(outcome=Outcome.REFUSED, detail=f"#{deploy_id}", message=started.reason)
        return started
    record(outcome=Outcome.OK, detail=f"#{deploy_id} {row.revision[:7]} to {row.environment}")
    return Accepted(started)


def rollback(
    session: Session, ctx: Context, *, actor: Actor, wish: RollbackWish
) -> Accepted | ChooseEnvironment | ConfirmRollback | Refusal:
    """Back to the newest earlier release that is not bad; allowed while the line is stopped."""
    record = partial(audit.record, session, clock=ctx.clock, actor=actor, action=ROLLBACK_ACTION)
    found = environment_named(ctx.config, wish.environment, DeployKind.ROLLBACK)
    if not isinstance(found, str):
        record(outcome=Outcome.REFUSED, detail=wish.revision or "", message=_said(found))
        return found
    # Who may comes first: a non-deployer learns that, not the state of the releases.
    refusal = user_may_deploy(session, DeployAsk(ctx.config, ctx.clock, "", found, actor))
    target = rollback_to.target(
        session,
        config=ctx.config,
        environment=found,
        spelled=wish.revision,
        resolve=partial(_revision, ctx),
    )
    detail = f"{found} to {target if isinstance(target, str) else wish.revision or 'previous'}"
    refusal = refusal or (target if isinstance(target, Refusal) else None)
    if refusal is not None or not isinstance(target, str):
        refusal = refusal or Refusal("No release to roll back to.")
        record(outcome=Outcome.REFUSED, detail=detail, message=refusal.reason)
        return refusal
    question = None if wish.confirmed else rollback_to.doubt(session, found, target)
    if question is not None:
        record(outcome=Outcome.REFUSED, detail=detail, message="needs confirmation")
        return ConfirmRollback(found, target, question)
    where = Where(found, target)
    row, hosts = _new(session, ctx, kind=DeployKind.ROLLBACK, where=where, actor=actor)
    started = start(session, ctx, row, hosts)
    if isinstance(started, Refusal):
        record(outcome=Outcome.REFUSED, detail=detail, message=started.reason)
        return started
    record(outcome=Outcome.OK, detail=f"{found} to {target[:7]}", message=f"rollback #{started.id}")
    return Accepted(started)


# --- the steps -------------------------------------------------------------------------------


def _revision(ctx: Context, spelled: str) -> str | Refusal:
    return revision_named(spelled, source=ctx.source, config=ctx.config)


def _new(
    session: Session,
    ctx: Context,
    *,
    kind: DeployKind,
    where: Where,
    actor: Actor,
    fix_reason: str | None = None,
    overrode: str | None = None,
) -> tuple[Deploy, list[DeployHost]]:
    """The deploy and its hosts, recorded; the hosts as written (the view needs no query)."""
    row = Deploy(
        kind=kind,
        environment=where.environment,
        revision=where.revision,
        requested_at=ctx.clock.now(),
        requested_by=actor.id,
        requested_by_name=actor.name,
        via=actor.via,
        holder=ctx.holder,
        committed_at=_committed(ctx, where.revision),
        fix_reason=fix_reason,
        overrode=overrode,
    )
    session.add(row)
    session.flush()
    environment = ctx.config.environments[where.environment]
    hosts = [
        DeployHost(deploy_id=row.id, position=position, address=host.address)
        for position, host in enumerate(environment.hosts)
    ]
    values = [
        scrubbed(session, {"deploy_id": h.deploy_id, "position": h.position, "address": h.address})
        for h in hosts
    ]
    session.execute(insert(DeployHost), values)  # one statement: twenty hosts, one insert
    return row, hosts


def _committed(ctx: Context, revision: str) -> datetime | None:
    """Best effort: a deploy without a commit time is left out of the lead time, not refused."""
    if ctx.source is None:
        return None
    try:
        return ctx.source.committed_at(revision)
    except SourceError:
        return None


def start(
    session: Session, ctx: Context, row: Deploy, hosts: list[DeployHost] | None = None
) -> DeployView | Refusal:
    """Take the environment's lock and post the progress message (or update it: a resumed
    deploy continues in the message of the one it resumes)."""
    assert row.id is not None
    holding = lease.acquire(
        session, environment=row.environment, deploy_id=row.id, holder=ctx.holder, clock=ctx.clock
    )
    if holding is not None:
        refusal = busy(records.view(session, holding))
        if row.approved_by is not None:
            return refusal  # an approved request: the caller puts it back to waiting
        for host in _hosts(session, row.id):
            session.delete(host)
        session.flush()  # the hosts go first: they reference the deploy (PostgreSQL checks)
        session.delete(row)  # never ran: the audit row tells the story
        return refusal
    view = _view(session, ctx, row, hosts)
    if row.message_id is None:
        row.message_id = ctx.notifier.post(DeployProgress(view)).id
    else:
        ctx.notifier.update(MessageRef(row.message_id), DeployProgress(view))
    session.add(row)
    return replace(view, message_id=row.message_id)


def _hosts(session: Session, deploy_id: int) -> list[DeployHost]:
    return list(session.exec(select(DeployHost).where(DeployHost.deploy_id == deploy_id)).all())


def _await_approval(
    session: Session, ctx: Context, row: Deploy, hosts: list[DeployHost], *, record: partial
) -> Accepted:
    assert row.id is not None
    move(row, DeployState.AWAITING_APPROVAL)  # a request is born pending; this one waits
    session.add(row)
    session.flush()
    view = _view(session, ctx, row, hosts)
    row.message_id = ctx.notifier.post(ApprovalNeeded(view)).id
    session.add(row)
    record(outcome=Outcome.OK, message=f"deploy #{row.id} awaits approval")
    return Accepted(replace(view, message_id=row.message_id))


def _approval_refusal(
    session: Session, ctx: Context, row: Deploy | None, actor: Actor
) -> Refusal | None:
    if row is None:
        return None
    if row.status != DeployState.AWAITING_APPROVAL:
        return Refusal(f"Deploy #{row.id} does not wait for approval ({row.status}).")
    if actor.id == row.requested_by:
        return Refusal("Someone other than the requester must approve a deploy.")
    return may_deploy(
        session,
        config=ctx.config,
        clock=ctx.clock,
        revision=row.revision,
        environment=row.environment,
        actor=actor,
        fix=row.fix_reason is not None,
        override_bad=row.overrode is not None,
        again=True,  # what was live when it was asked for is the requester's to judge
    )


def _tell_stoppage(session: Session, ctx: Context, stoppage_id: int, view: DeployView) -> None:
    stoppage = session.get(Stoppage, stoppage_id)
    if stoppage is not None and stoppage.thread_id is not None:
        ctx.notifier.reply(MessageRef(stoppage.thread_id), FixShipping(view))


def _view(
    session: Session, ctx: Context, row: Deploy, hosts: list[DeployHost] | None
) -> DeployView:
    """The deploy as its message shows it; from ``hosts`` when the request just wrote them."""
    assert row.id is not None
    checked = _health(ctx.config, row.environment)
    if hosts is None:
        return records.view(session, row.id, health_checked=checked)
    return records.view_of(row, hosts, health_checked=checked)


def _health(config: AndonConfig, environment: str) -> bool:
    env = config.environments[environment]
    return bool(env.health_url or env.health_command or any(h.health_url for h in env.hosts))


def _said(answer: ChooseEnvironment | Refusal) -> str:
    return answer.reason if isinstance(answer, Refusal) else "asked which environment"
