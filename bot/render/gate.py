"""The commit check's message: a push that passed a stopped line, told in the stoppage thread."""

from bot.render.kit import Message, message, section
from bot.render.notice import notice
from core.gate.decide import LineOverridden


@notice.register
def _(item: LineOverridden) -> Message:
    commits = "\n".join(f"• `{sha}` {subject}" for sha, subject in item.commits)
    more = "" if commits else "\n(no new commits)"
    head = (
        f":construction: *{item.pusher}* pushed to `{', '.join(item.refs)}` past the stopped line "
        f"as a fix: {item.reason}"
    )
    return message(
        f"{item.pusher} pushed past the stopped line as a fix: {item.reason}",
        section(f"{head}\n{commits}{more}"),
    )
