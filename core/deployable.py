"""May this revision deploy? One answer built from named checks, each able to say why not.

Every path that ships a revision — ``/deploy``, ``andon deploy``, an approval, auto-deploy —
asks ``may_deploy``; rollbacks ask only the checks that make sense in an emergency.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlmodel import Session

from core import words
from core.actor import Actor
from core.ci.verdict import verdict
from core.clock import Clock
from core.config import AndonConfig, CiConfig
from core.deploy import lease, records
from core.deploy.auto import AUTO_ACTOR
from core.deploy.records import DeployView
from core.line import LineState, peek
from core.refusal import Refusal


@dataclass(frozen=True)
class Ask:
    """The question: who wants which revision where, and with which explicit overrides."""

    config: AndonConfig
    clock: Clock
    revision: str
    environment: str | None = None
    actor: Actor | None = None
    fix: bool = False  # ``fix: <reason>``: a green fix may ship while the line is stopped
    override_bad: bool = False  # ``override``: ship a release marked bad anyway


Check = Callable[[Session, Ask], Refusal | None]


def user_may_deploy(session: Session, ask: Ask) -> Refusal | None:
    """``[access] deployers`` names people; auto-deploy is Andon's own actor, which
    ``auto_deploy = true`` on the environment already allows."""
    deployers = ask.config.access.deployers
    if ask.actor is None or not deployers or ask.actor.id in deployers:
        return None
    environment = ask.config.environments.get(ask.environment or "")
    if ask.actor == AUTO_ACTOR and environment is not None and environment.auto_deploy:
        return None
    return Refusal(
        f"@{ask.actor.name} may not deploy: only the people in `[access] deployers` may."
    )


def line_runs(session: Session, ask: Ask) -> Refusal | None:
    status = peek(session, clock=ask.clock)
    if ask.fix or status.state == LineState.RUNNING or status.stoppage is None:
        return None
    stoppage = status.stoppage
    return Refusal(
        f"Line is stopped since {words.at(status.since, now=status.now)} by "
        f"{stoppage.opened_by.called}: {stoppage.reason} — deploys are paused until `/line start`"
        " (a green fix ships with `/deploy <rev> fix: <reason>`)."
    )


def revision_green(session: Session, ask: Ask) -> Refusal | None:
    required = (ask.config.ci or CiConfig()).required
    found = verdict(session, revision=ask.revision, required=list(required))
    return None if found.green else Refusal(found.why_not())


def release_not_bad(session: Session, ask: Ask) -> Refusal | None:
    if ask.environment is None or ask.override_bad:
        return None
    row = records.release(session, ask.environment, ask.revision)
    if row is None or not row.bad:
        return None
    return Refusal(
        f"{ask.revision[:7]} is marked bad on {ask.environment} ({row.bad_reason}) — "
        f"`/deploy {ask.revision[:7]} {ask.environment} override` ships it anyway."
    )


def promoted(session: Session, ask: Ask) -> Refusal | None:
    """``after = "staging"``: the revision must have run there, healthy, for ``bake``."""
    environment = ask.config.environments.get(ask.environment or "")
    if environment is None or environment.after is None:
        return None
    earlier = records.release(session, environment.after, ask.revision)
    now = ask.clock.now()
    if earlier is None or earlier.healthy_since is None or earlier.bad:
        return Refusal(
            f"{ask.revision[:7]} has not been live on {environment.after} yet — "
            f"{ask.environment} takes only what {environment.after} ran first."
        )
    baked = (earlier.left_at or now) - earlier.healthy_since
    if environment.bake is not None and baked < environment.bake:
        return Refusal(
            f"{ask.revision[:7]} has run on {environment.after} for {words.span(baked)} of the "
            f"{words.span(environment.bake)} it must bake before {ask.environment}."
        )
    return None


def no_deploy_running(session: Session, ask: Ask) -> Refusal | None:
    if ask.environment is None:
        return None
    holding = lease.holding(session, environment=ask.environment, clock=ask.clock)
    return None if holding is None else busy(records.view(session, holding))


def busy(running: DeployView) -> Refusal:
    """ "deploy of 3f2a9c1 by @maria in progress, 3/10 hosts"."""
    return Refusal(
        f"{running.kind} of {running.short} to {running.environment} by "
        f"{running.requested_by.called} in progress, {running.live_hosts}/{len(running.hosts)} "
        "hosts — wait for it to finish."
    )


CHECKS: tuple[Check, ...] = (
    user_may_deploy,
    line_runs,
    revision_green,
    release_not_bad,
    promoted,
    no_deploy_running,
)


def may_deploy(
    session: Session,
    *,
    config: AndonConfig,
    clock: Clock,
    revision: str,
    environment: str | None = None,
    actor: Actor | None = None,
    fix: bool = False,
    override_bad: bool = False,
) -> Refusal | None:
    """``None`` means yes; a ``Refusal`` says why not (the first check that objects)."""
    ask = Ask(config, clock, revision, environment, actor, fix, override_bad)
    for check in CHECKS:
        refusal = check(session, ask)
        if refusal is not None:
            return replace(refusal, rule=check.__name__)
    return None
