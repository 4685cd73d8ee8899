"""The commit check's message: a push that passed a stopped line, told in the stoppage thread."""

from bot.render.kit import LINE, Message, clip, listing, message, section
from bot.render.mrkdwn import inert
from bot.render.notice import notice
from core.gate.decide import LineOverridden

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
