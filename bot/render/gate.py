"""The commit check's messages: a push that passed a stopped line, told in the stoppage thread;
pushes that passed unchecked while Andon could not be reached, told in the channel."""

from bot.render.kit import LINE, Message, clip, listing, message, section, when
from bot.render.mrkdwn import inert
from bot.render.notice import notice
from core.gate.decide import LineOverridden
from core.gate.push import UncheckedPush
from core.gate.unchecked import PushesUnchecked

NAME = 100


@notice.register
def _(item: LineOverridden) -> Message:
    """Everything here came through git — the pusher's name, refs, the trailer, subjects: inert."""
    pusher = inert(clip(item.pusher, NAME))
    refs = inert(clip(", ".join(item.refs), LINE))
    reason = inert(clip(item.reason, LINE))
    head = f":construction: *{pusher}* pushed to `{refs}` past the stopped line as a fix: {reason}"
    commits = [
        f"• `{inert(sha[:12])}` {inert(clip(subject, LINE))}" for sha, subject in item.commits
    ]
    body = listing(
        commits or ["(no new commits)"],
        head=head,
        more=lambda n: f"… and {n} more commits: `git log` on the pushed refs has them all.",
    )
    return message(
        f"{pusher} pushed past the stopped line as a fix: {inert(clip(item.reason, 200))}",
        section(body),
    )


@notice.register
def _(item: PushesUnchecked) -> Message:
    """The pusher, refs and reason came through git and the hook: inert."""
    count = len(item.pushes)
    pushes = f"{count} push{'es' if count != 1 else ''}"
    head = (
        f":warning: *{pushes} passed the commit check unchecked* — the hook could not reach "
        "Andon and `[gate] fail_open = true` let them through:"
    )
    body = listing(
        [_unchecked(push) for push in item.pushes],
        head=head,
        more=lambda n: f"… and {n} more: `andon audit` lists every one (gate.unchecked).",
    )
    return message(
        f"{pushes} passed the commit check unchecked while Andon could not be reached",
        section(body),
    )


def _unchecked(push: UncheckedPush) -> str:
    refs = ", ".join(f"{u.branch} {u.old[:7]}..{u.new[:7]}" for u in push.refs)
    return (
        f"• *{inert(clip(push.pusher, NAME))}* pushed `{inert(clip(refs, LINE))}` "
        f"{when(push.at)} — {inert(clip(push.reason, LINE))}"
    )
