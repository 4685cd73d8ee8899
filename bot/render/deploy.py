"""Deploy messages: one progress message updated in place, and the answers to the requester."""

from functools import partial

from bot.intents.pressed import ActionId
from bot.render import fleet
from bot.render.kit import (
    LINE,
    Message,
    actions,
    are_you_sure,
    button,
    clip,
    context,
    listing,
    message,
    plain,
    section,
    who,
)
from bot.render.mrkdwn import inert, named, said
from bot.render.notice import notice
from core import words
from core.deploy.notices import ApprovalNeeded, DeployProgress, FixShipping
from core.deploy.records import DeployView, HostView
from core.deploy.request import Accepted, ChooseEnvironment, ConfirmRollback
from core.deploy.state import DeployState, HostStep
from core.deploy.status import DeployStatus, EnvironmentState

SHOWN_HOSTS = 25
ERROR = 600  # a host's or a deploy's error: the start says what, the API has it whole


@notice.register
def _(item: DeployProgress) -> Message:
    deploy = item.deploy
    head = _head(deploy)
    hosts = (
        fleet.deploy_hosts(deploy, partial(_host, deploy))
        if fleet.is_fleet(len(deploy.hosts))
        else [_hosts(deploy)]
    )
    blocks = [section(head), *(section(text) for text in hosts), context(_facts(deploy))]
    if deploy.watching is not None:  # each watched metric against its baseline, while it waits
        blocks.insert(-1, section(f":eyes: {inert(deploy.watching)}"))
    if deploy.rollback_to is not None:  # only while it runs, and never to itself
        blocks.append(actions(_rollback_button(deploy.environment, deploy.rollback_to)))
    return message(plain(head), *blocks)


@notice.register
def _(item: ApprovalNeeded) -> Message:
    deploy = item.deploy
    environment = inert(deploy.environment)
    text = (
        f":raised_hand: {who(deploy.requested_by)} asks to deploy `{deploy.short}` to "
        f"*{environment}* (deploy {deploy.id}). Someone else with deploy access must "
        "approve it."
    )
    sure = are_you_sure(
        f"Deploy {deploy.short}?",
        f"`{deploy.short}` goes to every host of *{environment}*, batch by batch.",
        yes="Approve and deploy",
    )
    approve = button(
        "Approve", ActionId.DEPLOY_APPROVE, str(deploy.id), style="primary", confirm=sure
    )
    return message(
        f"{named(deploy.requested_by)} asks to deploy {deploy.short} to {environment}",
        section(text),
        actions(approve),
    )


@notice.register
def _(item: FixShipping) -> Message:
    deploy = item.deploy
    text = (
        f":wrench: {who(deploy.requested_by)} is deploying fix `{deploy.short}` to "
        f"*{inert(deploy.environment)}* while the line is stopped: {_fix(deploy)}"
    )
    return message(plain(text), section(text))


def accepted(result: Accepted) -> Message:
    deploy = result.deploy
    environment = inert(deploy.environment)
    emoji = ":rocket:"
    if deploy.status == DeployState.AWAITING_APPROVAL:
        text = f"Deploy {deploy.id} of `{deploy.short}` to {environment} waits for approval."
    elif deploy.resumes is not None:
        left = len(deploy.hosts) - deploy.live_hosts
        text = (
            f"Resuming deploy {deploy.resumes} of `{deploy.short}` to {environment} (now deploy "
            f"{deploy.id}) — {words.counted(left, 'host')} left; the channel message shows "
            "its progress."
        )
    elif deploy.is_rollback:
        emoji = ":rewind:"
        text = (
            f"Rolling back {environment} to `{deploy.short}` (deploy {deploy.id}) — on every host."
        )
    else:
        text = (
            f"Deploying `{deploy.short}` to {environment} (deploy {deploy.id}) — the channel "
            "message shows its progress."
        )
    return message(plain(text), section(f"{emoji} {text}"))


def choose(result: ChooseEnvironment) -> Message:
    kind = inert(result.kind)
    verb = inert(result.verb or "…")
    options = " or ".join(f"`/{kind} {verb} {inert(name)}`" for name in result.names[:20])
    text = f"Which environment? Say {options}."
    return message(plain(text), section(text))


def confirm(result: ConfirmRollback) -> Message:
    sentence = inert(result.sentence)
    return message(sentence, section(f":warning: {sentence}"))


def status(result: DeployStatus) -> Message:
    parts = [_environment(env) for env in result.environments]
    return message(plain(" ".join(parts)), *(section(part) for part in parts))


def _rollback_button(environment: str, previous: str) -> dict:
    sure = are_you_sure(
        f"Roll back {clip(environment, 40)}?",
        f"Every host of {inert(environment)} goes back to `{previous[:7]}` at once.",
        yes="Roll back",
    )
    value = f"{environment} {previous}"
    label = f"Roll back to {previous[:7]}"
    return button(label, ActionId.DEPLOY_ROLLBACK, value, style="danger", confirm=sure)


def _fix(deploy: DeployView) -> str:
    return said(clip(deploy.fix_reason or "", LINE), deploy.requested_by)


# --- pieces ----------------------------------------------------------------------------------


def _head(deploy: DeployView) -> str:
    environment = inert(deploy.environment)
    what = f"`{deploy.short}` to *{environment}*"
    by = f"by {who(deploy.requested_by)}"
    if deploy.resumed_by is not None:
        by += f" — resumed by {who(deploy.resumed_by)}"
    fix = f" — fix while the line is stopped: {_fix(deploy)}" if deploy.fix_reason else ""
    if deploy.overrode is not None:
        fix += f" — *override*: it was marked bad ({inert(clip(deploy.overrode, LINE))})"
    took = f" in {words.span(deploy.duration)}" if deploy.duration is not None else ""
    error = _error(deploy.error)
    if deploy.is_rollback:
        what = f"*{environment}* to `{deploy.short}`"
        return {
            DeployState.PENDING: f":rewind: Rolling back {what} {by}",
            DeployState.RUNNING: f":rewind: Rolling back {what} {by}",
            DeployState.SUCCEEDED: f":rewind: *Rolled back* {what}{took} {by}",
            DeployState.FAILED: f":x: *{_sentence(error)}*",
            DeployState.INTERRUPTED: f":warning: *Rollback interrupted* — {error}",
        }.get(deploy.status, f"Rollback of {what}: {deploy.status}")
    return {
        DeployState.AWAITING_APPROVAL: f":raised_hand: Deploy of {what} {by} waits for approval",
        DeployState.PENDING: f":rocket: Deploying {what} {by}{fix}",
        DeployState.RUNNING: f":rocket: Deploying {what} {by}{fix}",
        DeployState.SUCCEEDED: f":white_check_mark: *Deployed* {what}{took} {by}{fix}",
        DeployState.FAILED: (
            f":x: *{_sentence(error)}* — hosts already switched were flipped back."
        ),
        DeployState.INTERRUPTED: f":warning: *Deploy of {what} interrupted* — {error}",
    }.get(deploy.status, f"Deploy of {what}: {deploy.status}")


def _hosts(deploy: DeployView) -> str:
    """Hosts in trouble first: of 500 hosts, the three that failed are the ones to read."""
    ranked = sorted(deploy.hosts, key=lambda host: host.step not in _TROUBLE)
    return (
        listing(
            [_host(deploy, host) for host in ranked],
            shown=SHOWN_HOSTS,
            more=lambda n: f"… and {n} more hosts: `GET /api/deploys` lists every one.",
        )
        or "No hosts."
    )


def _host(deploy: DeployView, host: HostView) -> str:
    healthy = "healthy" if deploy.health_checked else "live"
    step = {
        HostStep.WAITING: ":white_circle: waiting",
        HostStep.STAGING: ":arrow_up: uploading",
        HostStep.STAGED: ":package: staged",
        HostStep.ACTIVATING: ":arrows_counterclockwise: activating",
        HostStep.ACTIVE: (
            ":hourglass_flowing_sand: live, checking health"
            if deploy.health_checked
            else ":large_green_circle: live"
        ),
        HostStep.HEALTHY: f":large_green_circle: {healthy}",
        HostStep.FAILED: f":x: failed: {_error(host.error, limit=LINE)}",
        HostStep.REVERTED: f":leftwards_arrow_with_hook: back on {_rev(host.previous_revision)}",
        HostStep.STOPPED: _stopped(deploy, host),
    }[host.step]
    took = f" ({words.span(host.took)})" if host.took is not None else ""
    return f"`{inert(host.address)}` — {step}{took}"


def _stopped(deploy: DeployView, host: HostView) -> str:
    """Where an interrupted deploy left a host, as the host itself said after the restart."""
    if host.runs is None:
        problem = _error(host.error, limit=LINE) if host.error else "no answer"
        return f":grey_question: stopped here; could not ask it: {problem}"
    which = "the new release" if host.runs == deploy.revision else "not the new release"
    return f":black_square_for_stop: stopped here — runs {_rev(host.runs)} ({which})"


def _facts(deploy: DeployView) -> str:
    facts = [f"{deploy.live_hosts}/{len(deploy.hosts)} hosts live"]
    sent = sum(host.files_sent for host in deploy.hosts)
    if sent:
        size = sum(host.bytes_sent for host in deploy.hosts)
        facts.append(f"{words.counted(sent, 'file')} sent ({_size(size)})")
    if deploy.approved_by is not None:
        facts.append(f"approved by {who(deploy.approved_by)}")
    if not deploy.health_checked and not deploy.is_rollback:
        facts.append("no health check configured")
    facts.append(f"deploy {deploy.id}")
    return " · ".join(facts)


def _environment(env: EnvironmentState) -> str:
    lines = [f"*{inert(env.name)}* — runs `{_rev(env.recorded)}` as far as deploys recorded"]
    if env.running is not None:
        running = env.running
        lines.append(
            f":rocket: {inert(running.kind)} of `{running.short}` by "
            f"{who(running.requested_by)} in progress, "
            f"{running.live_hosts}/{len(running.hosts)} hosts"
        )
    hosts = []
    for host in env.hosts:
        where = (
            f"unreachable: {_error(host.problem, limit=LINE)}"
            if host.problem
            else f"`{_rev(host.revision)}`"
        )
        hosts.append(f"• `{inert(host.address)}` — {where}")
    if env.bad:
        bad = ", ".join(f"`{inert(rev[:7])}`" for rev in env.bad)
        lines.append(clip(f"Marked bad: {bad}", LINE))
    if fleet.is_fleet(len(env.hosts)):
        return fleet.status_hosts(env, head="\n".join(lines), revision=_rev)
    return listing(
        hosts,
        head="\n".join(lines),
        shown=SHOWN_HOSTS,
        more=lambda n: f"… and {n} more hosts: `GET /api/deploys` has them.",
    )


def _sentence(error: str | None) -> str:
    text = error or "failed"
    return text[:1].upper() + text[1:]


def _error(error: str | None, *, limit: int = ERROR) -> str:
    """Errors quote hosts, builds and commands: shown as text, their start kept."""
    return inert(clip(" ".join((error or "").split()), limit))


_TROUBLE = {HostStep.FAILED, HostStep.REVERTED, HostStep.STOPPED}


def _rev(revision: str | None) -> str:
    return revision[:7] if revision else "nothing"


def _size(count: int) -> str:
    for unit in ("B", "KB", "MB"):
        if count < 1024:
            return f"{count} {unit}"
        count //= 1024
    return f"{count} GB"
