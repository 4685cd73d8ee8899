"""A push that deletes or rewinds a guarded ref, told in the channel with how to put it back."""

from bot.render.kit import LINE, Message, clip, context, listing, message, section
from bot.render.mrkdwn import inert
from bot.render.notice import notice
from core.gate.push import RefUpdate
from core.gate.rewrites import RefsRewritten

NAME = 100


@notice.register
def _(item: RefsRewritten) -> Message:
    """The pusher, the ref names and the reason came through git: inert."""
    pusher = inert(clip(item.pusher, NAME))
    refs = inert(clip(", ".join(u.branch for u in item.updates), LINE))
    head = f":warning: *{pusher}* pushed a change that takes commits off `{refs}`"
    if item.reason is not None:
        head += f", past the stopped line as a fix: {inert(clip(item.reason, LINE))}"
    body = listing(
        [_update(update) for update in item.updates],
        head=head + ":",
        more=lambda n: f"… and {n} more: `andon audit` has the push (gate.push).",
    )
    blocks = [section(body)]
    if item.stopped:
        blocks.append(
            context(
                "While the line is stopped, putting one back needs "
                f'`-o line-fix="{inert("<why>")}"` too.'
            )
        )
    return message(f"{pusher}'s push takes commits off {refs}", *blocks)


def _update(update: RefUpdate) -> str:
    ref = inert(clip(update.ref, 255))
    was = inert(update.old[:12])
    if update.deletes:
        said = f"• deletes `{ref}`, which was at `{was}`"
        back = f"`git push origin {inert(update.old)}:{ref}`"
    else:
        said = (
            f"• moves `{ref}` from `{was}` to `{inert(update.new[:12])}`, which does not contain it"
        )
        back = f"`git push --force origin {inert(update.old)}:{ref}`"
    return f"{said} — {back} puts it back"
