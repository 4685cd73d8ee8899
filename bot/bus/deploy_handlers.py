"""The deploy commands' handlers. A request is decided and recorded in the unit of work; the run
it accepted starts after the commit (``Work.after_commit``), so the deployer is only told to
run a deploy that exists, and never needs to know who asked."""

from functools import partial

from bot.bus.engine import Call, Work
from bot.intents.typed import ApproveDeploy, Deploy, ResumeDeploy, Rollback, ShowDeploys
from bot.render.reply import Result
from core.deploy import request as deploy_request
from core.deploy import resume as deploy_resume
from core.deploy import status as deploy_status
from core.deploy.request import Accepted, DeployWish, RollbackWish


def deploy(intent: Deploy, work: Work) -> Result:
    """``/deploy [rev] [env] [override] [again] [fix: <reason>]``, and auto-deploy's."""
    wish = DeployWish(
        intent.revision, intent.environment, intent.fix_reason, intent.override, intent.again
    )
    return _run(
        deploy_request.deploy(work.session, _context(work), actor=work.actor, wish=wish), work
    )


def rollback(intent: Rollback, work: Work) -> Result:
    """``/rollback [env] [rev] [confirm]`` and a page's *Roll back* button."""
    wish = RollbackWish(intent.environment, intent.revision, intent.confirmed)
    return _run(
        deploy_request.rollback(work.session, _context(work), actor=work.actor, wish=wish), work
    )


def approve_deploy(intent: ApproveDeploy, work: Work) -> Result:
    """A deploy's *Approve* button."""
    accepted = deploy_request.approve(
        work.session, _context(work), actor=work.actor, deploy_id=intent.deploy_id
    )
    return _run(accepted, work)


def resume_deploy(intent: ResumeDeploy, work: Work) -> Result:
    """``/deploy resume [env]``, and ``resume = true`` after an interruption."""
    wish = deploy_resume.ResumeWish(intent.environment, intent.fix_reason, intent.override)
    return _run(
        deploy_resume.resume(work.session, _context(work), actor=work.actor, wish=wish), work
    )


def show_deploys(intent: ShowDeploys, call: Call) -> Result:
    """``/deploy status [env]``: audited in a short unit of work, then the hosts themselves are
    asked outside any write transaction — SSH may take a moment."""
    engine = call.engine
    with call.unit() as work:
        work.remember_delivery()
        refusal = deploy_status.asked(
            work.session,
            clock=work.clock,
            actor=work.actor,
            config=work.config,
            environment=intent.environment,
            reachable=engine.deployer is not None,
        )
    if refusal is not None:
        return refusal
    assert engine.deployer is not None  # refused above without one
    with engine.database.reading() as session:
        return deploy_status.status(
            session,
            config=engine.config,
            clock=engine.clock,
            transport_for=engine.deployer.hosts,
            environment=intent.environment,
        )


def _context(work: Work) -> deploy_request.Context:
    deployer = work.engine.deployer
    return deploy_request.Context(
        notifier=work.notifier,
        clock=work.clock,
        config=work.config,
        source=deployer.source if deployer else None,
        holder=deployer.holder if deployer else "",
    )


def _run(result: Result, work: Work) -> Result:
    """An accepted deploy that runs now starts once the unit commits, after the front has
    answered the person who asked (``Call.answered``)."""
    deployer = work.engine.deployer
    if isinstance(result, Accepted) and result.runs_now and deployer is not None:
        work.after_commit(partial(deployer.launch, result.deploy.id, after=work.call.answered))
    return result
