"""Feature flag messages: each change in the line channel, a fix in the stoppage's thread, and
the answers to ``/flag``."""

from bot.render.kit import Message, clip, context, listing, message, plain, section, when, who
from bot.render.mrkdwn import inert, said
from bot.render.notice import notice
from core.flags.commands import Changed, Created, FlagList, FlagShown
from core.flags.notices import FlagCreated, FlagFixShipping, FlagMoved
from core.flags.records import FlagView, Rollout

DESCRIPTION = 300  # a description quoted in a list; `/flag show` has it whole


@notice.register
def _(item: FlagCreated) -> Message:
    text = f":triangular_flag_on_post: {who(item.by)} created flag `{inert(item.key)}`"
    text += f" — {said(item.description, item.by)}" if item.description else ""
    return message(
        plain(text), section(text), context("Off in every environment until `/flag on`.")
    )


@notice.register
def _(item: FlagMoved) -> Message:
    text = f":triangular_flag_on_post: {who(item.by)} {moved(item)}"
    blocks = [section(text)]
    if item.fix_reason is not None:
        blocks.append(context(f":wrench: As the fix, while the line is stopped: {_fix(item)}"))
    return message(plain(text), *blocks)


@notice.register
def _(item: FlagFixShipping) -> Message:
    moved_ = item.moved
    text = f":wrench: {who(moved_.by)} {moved(moved_)} while the line is stopped: {_fix(moved_)}"
    return message(plain(text), section(text))


def moved(item: FlagMoved) -> str:
    """``turned `x` on in *production* (0% → 100%)``: what happened, from → to."""
    key, where = f"`{inert(item.key)}`", f"*{inert(item.environment)}*"
    if item.after == 100:
        verb = f"turned {key} *on* in {where}"
    elif item.after == 0:
        verb = f"turned {key} *off* in {where}"
    else:
        ramp = "ramped" if item.after > item.before else "ramped down"
        verb = f"{ramp} {key} to *{item.after}%* in {where}"
    return f"{verb} ({item.before}% → {item.after}%)"


def created(result: Created) -> Message:
    key = inert(result.flag.key)
    text = (
        f":triangular_flag_on_post: Flag `{key}` created — off in every environment. "
        f"`/flag ramp {key} 10%` or `/flag on {key}` releases it."
    )
    return message(plain(text), section(text))


def changed(result: Changed) -> Message:
    text = f":triangular_flag_on_post: You {moved(result.moved)}."
    return message(plain(text), section(text))


def flag_list(result: FlagList) -> Message:
    if not result.flags:
        text = "No flags yet — `/flag create &lt;key&gt; &lt;description&gt;` makes one."
        return message(text, section(text))
    lines = [_line(flag) for flag in result.flags]
    shown = listing(
        lines,
        head=f"*Feature flags* ({len(lines)}):",
        more=lambda n: f"… and {n} more — `/flag show &lt;key&gt;` shows any of them.",
    )
    return message(f"{len(lines)} feature flag(s)", section(shown))


def flag_shown(result: FlagShown) -> Message:
    flag = result.flag
    head = f":triangular_flag_on_post: *Flag `{inert(flag.key)}`*"
    if flag.description:
        head += f" — {said(clip(flag.description, 2000), flag.created_by)}"
    rows = "\n".join(f"• {_rollout(r)}" for r in flag.rollouts)
    created_ = f"Created by {who(flag.created_by)} at {when(flag.created_at)}"
    return message(plain(head), section(head), section(clip(rows, 2900)), context(created_))


def _line(flag: FlagView) -> str:
    rollouts = " · ".join(f"{inert(r.environment)} {r.percentage}%" for r in flag.rollouts)
    description = clip(flag.description, DESCRIPTION)
    tail = f" — {said(description, flag.created_by)}" if description else ""
    return f"• `{inert(flag.key)}`: {rollouts}{tail}"


def _rollout(rollout: Rollout) -> str:
    where = f"*{inert(rollout.environment)}*: {rollout.percentage}%"
    if rollout.by is None or rollout.at is None:
        return f"{where} — never changed"
    return f"{where} — set by {who(rollout.by)} at {when(rollout.at)}"


def _fix(item: FlagMoved) -> str:
    return said(clip(item.fix_reason or "", 1000), item.by)
