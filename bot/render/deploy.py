"""Deploy messages: one progress message updated in place, and the answers to the requester."""

from bot.buttons import ActionId
from bot.render.kit import Message, actions, button, context, message, plain, section, who
from bot.render.notice import notice
from core import words
from core.deploy.notices import ApprovalNeeded, DeployProgress, FixShipping
from core.deploy.records import DeployView, HostView
from core.deploy.request import Accepted, ChooseEnvironment, ConfirmRollback
from core.deploy.state import DeployState, HostStep
from core.deploy.status import DeployStatus, EnvironmentState

SHOWN_HOSTS = 25


@notice.register
def _(item: DeployProgress) -> Message:
    deploy = item.deploy
    head = _head(deploy)
    blocks = [section(head), section(_hosts(deploy)), context(_facts(deploy))]
    if deploy.status == DeployState.SUCCEEDED and not deploy.is_rollback:
        previous = deploy.previous_revision
        if previous is not None:
            value = f"{deploy.environment} {previous}"
            label = f"Roll back to {previous[:7]}"
            blocks.append(actions(button(label, ActionId.DEPLOY_ROLLBACK, value, style="danger")))
    return message(plain(head), *blocks)


@notice.register
def _(item: ApprovalNeeded) -> Message:
    deploy = item.deploy
    text = (
        f":raised_hand: {who(deploy.requested_by)} asks to deploy `{deploy.short}` to "
        f"*{deploy.environment}* (deploy #{deploy.id}). Someone else with deploy access must "
        "approve it."
    )
    return message(
        f"{deploy.requested_by.name} asks to deploy {deploy.short} to {deploy.environment}",
        section(text),
        actions(button("Approve", ActionId.DEPLOY_APPROVE, str(deploy.id), style="primary")),
    )


@notice.register
def _(item: FixShipping) -> Message:
    deploy = item.deploy
    text = (
        f":wrench: {who(deploy.requested_by)} is deploying fix `{deploy.short}` to "
        f"*{deploy.environment}* while the line is stopped: {deploy.fix_reason}"
    )
    return message(plain(text), section(text))


def accepted(result: Accepted) -> Message:
    deploy = result.deploy
    if deploy.status == DeployState.AWAITING_APPROVAL:
        text = (
            f"Deploy #{deploy.id} of `{deploy.short}` to {deploy.environment} waits for approval."
        )
    elif deploy.is_rollback:
        text = (
            f"Rolling back {deploy.environment} to `{deploy.short}` (#{deploy.id}) — on every host."
        )
    else:
        text = (
            f"Deploying `{deploy.short}` to {deploy.environment} (#{deploy.id}) — the channel "
            "message shows its progress."
        )
    return message(plain(text), section(f":rocket: {text}"))


def choose(result: ChooseEnvironment) -> Message:
    options = " or ".join(f"`/{result.kind} … {name}`" for name in result.names)
    text = f"Which environment? Say {options}."
    return message(plain(text), section(text))


def confirm(result: ConfirmRollback) -> Message:
    return message(result.sentence, section(f":warning: {result.sentence}"))


def status(result: DeployStatus) -> Message:
    parts = [_environment(env) for env in result.environments]
    return message(plain(" ".join(parts)), *(section(part) for part in parts))


# --- pieces ----------------------------------------------------------------------------------


def _head(deploy: DeployView) -> str:
    what = f"`{deploy.short}` to *{deploy.environment}*"
    by = f"by {who(deploy.requested_by)}"
    fix = f" — fix while the line is stopped: {deploy.fix_reason}" if deploy.fix_reason else ""
    took = f" in {words.span(deploy.duration)}" if deploy.duration is not None else ""
    if deploy.is_rollback:
        what = f"*{deploy.environment}* to `{deploy.short}`"
        return {
            DeployState.PENDING: f":rewind: Rolling back {what} {by}",
            DeployState.RUNNING: f":rewind: Rolling back {what} {by}",
            DeployState.SUCCEEDED: f":rewind: *Rolled back* {what}{took} {by}",
            DeployState.FAILED: f":x: *{_sentence(deploy.error)}*",
            DeployState.INTERRUPTED: f":warning: *Rollback interrupted* — {deploy.error}",
        }.get(deploy.status, f"Rollback of {what}: {deploy.status}")
    return {
        DeployState.AWAITING_APPROVAL: f":raised_hand: Deploy of {what} {by} waits for approval",
        DeployState.PENDING: f":rocket: Deploying {what} {by}{fix}",
        DeployState.RUNNING: f":rocket: Deploying {what} {by}{fix}",
        DeployState.SUCCEEDED: f":white_check_mark: *Deployed* {what}{took} {by}{fix}",
        DeployState.FAILED: (
            f":x: *{_sentence(deploy.error)}* — hosts already switched were flipped back."
        ),
        DeployState.INTERRUPTED: f":warning: *Deploy of {what} interrupted* — {deploy.error}",
    }.get(deploy.status, f"Deploy of {what}: {deploy.status}")


def _hosts(deploy: DeployView) -> str:
    lines = [_host(deploy, host) for host in deploy.hosts[:SHOWN_HOSTS]]
    hidden = len(deploy.hosts) - SHOWN_HOSTS
    if hidden > 0:
        lines.append(f"… and {hidden} more")
    return "\n".join(lines)


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
        HostStep.FAILED: f":x: failed: {host.error}",
        HostStep.REVERTED: f":leftwards_arrow_with_hook: back on {_rev(host.previous_revision)}",
        HostStep.STOPPED: _stopped(deploy, host),
    }[host.step]
    took = f" ({words.span(host.took)})" if host.took is not None else ""
    return f"`{host.address}` — {step}{took}"


def _stopped(deploy: DeployView, host: HostView) -> str:
    """Where an interrupted deploy left a host, as the host itself said after the restart."""
    if host.runs is None:
        return f":grey_question: stopped here; could not ask it: {host.error or 'no answer'}"
    which = "the new release" if host.runs == deploy.revision else "not the new release"
    return f":black_square_for_stop: stopped here — runs {_rev(host.runs)} ({which})"


def _facts(deploy: DeployView) -> str:
    facts = [f"{deploy.live_hosts}/{len(deploy.hosts)} hosts live"]
    sent = sum(host.files_sent for host in deploy.hosts)
    if sent:
        size = sum(host.bytes_sent for host in deploy.hosts)
        facts.append(f"{sent} files sent ({_size(size)})")
    if deploy.approved_by is not None:
        facts.append(f"approved by {who(deploy.approved_by)}")
    if not deploy.health_checked and not deploy.is_rollback:
        facts.append("no health check configured")
    facts.append(f"#{deploy.id}")
    return " · ".join(facts)


def _environment(env: EnvironmentState) -> str:
    lines = [f"*{env.name}* — runs `{_rev(env.recorded)}` as far as deploys recorded"]
    if env.running is not None:
        running = env.running
        lines.append(
            f":rocket: {running.kind} of `{running.short}` by {who(running.requested_by)} in "
            f"progress, {running.live_hosts}/{len(running.hosts)} hosts"
        )
    for host in env.hosts:
        where = f"unreachable: {host.problem}" if host.problem else f"`{_rev(host.revision)}`"
        lines.append(f"• `{host.address}` — {where}")
    if env.bad:
        lines.append("Marked bad: " + ", ".join(f"`{rev[:7]}`" for rev in env.bad))
    return "\n".join(lines)


def _sentence(error: str | None) -> str:
    text = error or "failed"
    return text[:1].upper() + text[1:]


def _rev(revision: str | None) -> str:
    return revision[:7] if revision else "nothing"


def _size(count: int) -> str:
    for unit in ("B", "KB", "MB"):
        if count < 1024:
            return f"{count} {unit}"
        count //= 1024
    return f"{count} GB"
