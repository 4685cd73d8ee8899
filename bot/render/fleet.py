"""Many hosts in one message: counted by state, and the hosts in trouble named one by one.

Past a few dozen hosts a line per host says nothing a person can read (and Slack cuts a section
at 3,000 characters): "212 healthy · 30 uploading · 8 waiting" does. The hosts that need a look
— failed, flipped back, stopped, unreachable — are always named, over several sections if they
must; only past ``TROUBLE_SECTIONS`` sections are the rest counted, and the API lists them all.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from bot.render.kit import LINE, SECTION_TEXT, clip, listing
from bot.render.mrkdwn import inert
from core.deploy.records import DeployView, HostView
from core.deploy.state import HostStep
from core.deploy.status import EnvironmentState

FLEET = 30  # more hosts than this: counted by state, not listed
TROUBLE_SECTIONS = 8  # sections of hosts in trouble, at most (a message holds 50 blocks)
TROUBLE = (HostStep.FAILED, HostStep.REVERTED, HostStep.STOPPED)


def is_fleet(count: int) -> bool:
    """Whether a message about ``count`` hosts counts them instead of listing each."""
    return count > FLEET


def counted(labels: Iterable[str]) -> str:
    """``212 healthy · 30 uploading · 8 waiting``: the most common state first."""
    tally = Counter(labels)
    return " · ".join(f"{count} {label}" for label, count in tally.most_common())


def deploy_hosts(deploy: DeployView, line: Callable[[HostView], str]) -> list[str]:
    """The hosts of a big deploy: a count by state, then each host in trouble (``line``)."""
    summary = f"*{len(deploy.hosts)} hosts:* {counted(_label(deploy, h) for h in deploy.hosts)}"
    trouble = [host for host in deploy.hosts if host.step in TROUBLE]
    trouble.sort(key=lambda host: (TROUBLE.index(host.step), host.address))
    return spread(
        [line(host) for host in trouble],
        head=summary,
        more=lambda n: f"… and {n} more hosts in trouble: `GET /api/deploys` lists every one.",
    )


def status_hosts(env: EnvironmentState, *, head: str, revision: Callable[[str | None], str]) -> str:
    """The hosts of a big environment: a count by revision, then the unreachable ones and
    those on a revision the rest of the environment does not run, by name."""
    runs = Counter(host.revision for host in env.hosts if not host.problem)
    usual = runs.most_common(1)[0][0] if runs else None
    labels = [
        "unreachable" if host.problem else f"on `{revision(host.revision)}`" for host in env.hosts
    ]
    odd = [host for host in env.hosts if host.problem or host.revision != usual]
    odd.sort(key=lambda host: (host.problem is None, host.address))
    lines = [
        f"• `{inert(host.address)}` — "
        + (
            f"unreachable: {inert(clip(' '.join(host.problem.split()), LINE))}"
            if host.problem
            else f"`{revision(host.revision)}`"
        )
        for host in odd
    ]
    return listing(
        lines,
        head=f"{head}\n*{len(env.hosts)} hosts:* {counted(labels)}",
        more=lambda n: f"… and {n} more hosts: `/deploy status` again, or the API, lists them.",
    )


def spread(lines: Sequence[str], *, head: str, more: Callable[[int], str]) -> list[str]:
    """``lines`` under ``head`` over as many sections as they need, up to
    ``TROUBLE_SECTIONS``; what is left is counted by ``more`` in the last one."""
    sections: list[str] = []
    left = list(lines)
    while len(sections) < TROUBLE_SECTIONS:
        last = len(sections) == TROUBLE_SECTIONS - 1
        taken, text = _fill(left, head=head if not sections else "", last=last, more=more)
        sections.append(text)
        left = left[taken:]
        if not left:
            break
    return sections


def checking(count: int, environment: str | None) -> str:
    """What ``/deploy status`` answers at once when the hosts take a moment to ask."""
    where = f" of *{inert(environment)}*" if environment else ""
    return (
        f":hourglass_flowing_sand: Checking {count} hosts{where}… this message shows what each "
        "runs in a moment."
    )


def _fill(
    lines: Sequence[str], *, head: str, last: bool, more: Callable[[int], str]
) -> tuple[int, str]:
    """As many of ``lines`` as fit one section under ``head``; how many, and the text."""
    out = [head] if head else []
    used = len(head)
    reserve = len(more(len(lines))) + 2 if last else 0
    taken = 0
    for line in lines:
        line = clip(line, LINE)
        if used + len(line) + 1 + reserve > SECTION_TEXT:
            break
        out.append(line)
        used += len(line) + 1
        taken += 1
    if last and taken < len(lines):
        out.append(more(len(lines) - taken))
    return taken, "\n".join(out)


def _label(deploy: DeployView, host: HostView) -> str:
    healthy = "healthy" if deploy.health_checked else "live"
    return {
        HostStep.WAITING: "waiting",
        HostStep.STAGING: "uploading",
        HostStep.STAGED: "staged",
        HostStep.ACTIVATING: "activating",
        HostStep.ACTIVE: "checking health" if deploy.health_checked else "live",
        HostStep.HEALTHY: healthy,
        HostStep.FAILED: "failed",
        HostStep.REVERTED: "flipped back",
        HostStep.STOPPED: "stopped",
    }[host.step]
