"""May this revision deploy? One answer built from named checks, each able to say why not.

Every path that ships a revision — ``/deploy``, ``andon deploy``, an approval, auto-deploy —
asks ``may_deploy``; rollbacks ask only the checks that make sense in an emergency. A refusal
names every condition in the way at once, each with what clears it, and — when words added to
the command clear them all — the one command that gets through.
"""

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from core import words
from core.actor import AUTO_DEPLOY, AUTO_RESUME, Actor
from core.ci.verdict import verdict
from core.clock import Clock
from core.config.file import AndonConfig, CiConfig
from core.deploy import lease, records
from core.deploy.records import DeployView
from core.line import LineNow, LineState, current
from core.refusal import Refusal
from core.stoppage import view as stoppage_view


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
    again: bool = False  # ``again``: deploy the revision that is live once more, on purpose
    line: LineNow | None = None  # the line as the request already read it (else read here)


@dataclass(frozen=True)
class Blocker:
    """One condition in the way: what it is, what to do about it, and — when words added to
    ``/deploy`` get past it — those words and what they mean."""

    what: str
    step: str = ""
    clears: str = ""  # "override", "fix: <why>", "again"
    meaning: str = ""  # "to ship it anyway"

    def alone(self, command: str) -> str:
        """The whole refusal when it is the only condition in the way."""
        steps = [self.step] if self.step else []
        if self.clears:
            steps.append(f"{self.meaning}: `{command}`")
        return f"{self.what} — {'; '.join(steps)}."

    def listed(self) -> str:
        """One line of a refusal that names several conditions."""
        steps = [self.step] if self.step else []
        if self.clears:
            steps.append(f"{self.meaning}, add `{self.clears}`")
        return f"• {self.what} — {'; '.join(steps)}."


Check = Callable[[Session, Ask], Blocker | None]


def user_may_deploy(session: Session, ask: Ask) -> Refusal | None:
    """``[access] deployers`` names people; auto-deploy and auto-resume are Andon's own actors,
    which ``auto_deploy = true`` and ``resume = true`` on the environment already allow."""
    deployers = ask.config.access.deployers
    if ask.actor is None or not deployers or ask.actor.id in deployers:
        return None
    environment = ask.config.environments.get(ask.environment or "")
    if ask.actor == AUTO_DEPLOY and environment is not None and environment.auto_deploy:
        return None
    if ask.actor == AUTO_RESUME and environment is not None and environment.resume:
        return None
    return Refusal(
        f"@{ask.actor.name} may not deploy: only the people in `[access] deployers` may — "
        "ask one of them, or whoever runs Andon to add you.",
        rule="user_may_deploy",
    )


def line_runs(session: Session, ask: Ask) -> Blocker | None:
    now = ask.line or current(session)
    if ask.fix or now.state == LineState.RUNNING or now.stoppage_id is None:
        return None
    stoppage = stoppage_view(session, now.stoppage_id)
    if stoppage is None:
        return None
    return Blocker(
        f"The line is stopped since {words.at(now.since, now=ask.clock.now())} by "
        f"{stoppage.opened_by.called}: {stoppage.reason}",
        step="deploys wait for `/line start`",
        clears="fix: <why>",
        meaning="if this deploy is the fix",
    )


def revision_green(session: Session, ask: Ask) -> Blocker | None:
    required = (ask.config.ci or CiConfig()).required
    found = verdict(session, revision=ask.revision, required=list(required))
    if found.green:
        return None
    short = ask.revision[:7]
    return Blocker(
        found.why_not(),
        step=f"it can ship once CI passes; `/ci {short}` shows where it stands",
    )


def release_not_bad(session: Session, ask: Ask) -> Blocker | None:
    if ask.environment is None or ask.override_bad:
        return None
    row = records.release(session, ask.environment, ask.revision)
    if row is None or not row.bad:
        return None
    return Blocker(
        f"{ask.revision[:7]} is marked bad on {ask.environment} ({row.bad_reason})",
        clears="override",
        meaning="to ship it anyway",
    )


def promoted(session: Session, ask: Ask) -> Blocker | None:
    """``after = "staging"``: the revision must have run there, healthy, for ``bake``."""
    environment = ask.config.environments.get(ask.environment or "")
    if environment is None or environment.after is None:
        return None
    earlier = records.release(session, environment.after, ask.revision)
    now = ask.clock.now()
    short = ask.revision[:7]
    if earlier is None or earlier.healthy_since is None or earlier.bad:
        return Blocker(
            f"{short} has not been live on {environment.after} yet",
            step=(
                f"{ask.environment} takes only what {environment.after} ran first: "
                f"`/deploy {short} {environment.after}`"
            ),
        )
    baked = (earlier.left_at or now) - earlier.healthy_since
    if environment.bake is not None and baked < environment.bake:
        return Blocker(
            f"{short} has run on {environment.after} for {words.span(baked)} of the "
            f"{words.span(environment.bake)} it must bake before {ask.environment}",
            step=f"it can ship in {words.span(environment.bake - baked)}",
        )
    return None


def not_live(session: Session, ask: Ask) -> Blocker | None:
    """A deploy of what already runs changes nothing — unless someone means it (``again``)."""
    if ask.environment is None or ask.again:
        return None
    live = records.live(session, ask.environment)
    if live is None or live.revision != ask.revision:
        return None
    since = f" since {words.at(live.live_at, now=ask.clock.now())}" if live.live_at else ""
    return Blocker(
        f"{ask.revision[:7]} is already live on {ask.environment}{since}",
        clears="again",
        meaning="to deploy it once more on purpose (its build and steps run again)",
    )


def no_deploy_running(session: Session, ask: Ask) -> Blocker | None:
    if ask.environment is None:
        return None
    holding = lease.holding(session, environment=ask.environment, clock=ask.clock)
    return None if holding is None else _busy(records.view(session, holding))


def busy(running: DeployView) -> Refusal:
    """ "deploy of 3f2a9c1 by @maria in progress, 3/10 hosts"."""
    blocker = _busy(running)
    return Refusal(f"{blocker.what} — {blocker.step}.", rule="no_deploy_running")


def _busy(running: DeployView) -> Blocker:
    return Blocker(
        f"{running.kind} of {running.short} to {running.environment} by "
        f"{running.requested_by.called} in progress, {running.live_hosts}/{len(running.hosts)} "
        "hosts",
        step=f"wait for it to finish (`/deploy status {running.environment}` shows it)",
    )


CHECKS: tuple[Check, ...] = (
    line_runs,
    revision_green,
    release_not_bad,
    promoted,
    not_live,
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
    again: bool = False,
    line: LineNow | None = None,
) -> Refusal | None:
    """``None`` means yes; a ``Refusal`` names every condition in the way (who may deploy
    first and alone: a person who may not learns that, not the state of the line). ``line`` is
    the line as the caller read it, so it is read once per request."""
    ask = Ask(config, clock, revision, environment, actor, fix, override_bad, again, line)
    refusal = user_may_deploy(session, ask)
    if refusal is not None:
        return refusal
    found = [(check.__name__, blocker) for check in CHECKS if (blocker := check(session, ask))]
    if not found:
        return None
    rule = "+".join(name for name, _ in found)
    blockers = [blocker for _, blocker in found]
    if len(blockers) == 1:
        return Refusal(blockers[0].alone(_command(ask, blockers)), rule=rule)
    where = f" to {environment}" if environment else ""
    lines = [
        f"{revision[:7]} cannot deploy{where} — {len(blockers)} things stand in the way:",
        *(blocker.listed() for blocker in blockers),
    ]
    if all(blocker.clears for blocker in blockers):
        lines.append(f"All at once: `{_command(ask, blockers)}`.")
    return Refusal("\n".join(lines), rule=rule)


def _command(ask: Ask, blockers: list[Blocker]) -> str:
    """The ``/deploy`` that gets past every blocker that words clear (``fix:`` last: it takes
    the rest of the line)."""
    clears = sorted((b.clears for b in blockers if b.clears), key=lambda c: c.startswith("fix:"))
    where = [ask.environment] if ask.environment else []
    return " ".join(["/deploy", ask.revision[:7], *where, *clears])
