"""``/checks``: every built-in check, its bounds, its last value and whether it pages."""

from collections import Counter

from bot.render.kit import LINE, Message, clip, context, message, section, when
from bot.render.mrkdwn import inert
from core.checks.judge import CheckHealth, CheckView

SHOWN = 40  # a section per check; Block Kit allows 50 blocks in a message
NONE_CONFIGURED = "No checks configured — add [[checks]] to andon.toml."
_MARKS = {
    CheckHealth.FIRING: ":red_circle:",
    CheckHealth.ERROR: ":warning:",
    CheckHealth.OUT: ":large_yellow_circle:",
    CheckHealth.OK: ":large_green_circle:",
    CheckHealth.NOT_RUN: ":white_circle:",
}


def checks(views: list[CheckView]) -> Message:
    """The answer to ``/checks``: the troubled ones are easy to spot by their mark."""
    if not views:
        return message(NONE_CONFIGURED, section(NONE_CONFIGURED))
    blocks = [section(_check(view)) for view in views[:SHOWN]]
    if len(views) > SHOWN:
        blocks.append(context(f"… and {len(views) - SHOWN} more"))
    return message(_summary(views), *blocks)


def _summary(views: list[CheckView]) -> str:
    counts = Counter(view.health for view in views)
    parts = [f"{counts[health]} {health.value}" for health in _MARKS if counts[health]]
    return f"Checks: {', '.join(parts)}"


def _check(view: CheckView) -> str:
    value = f"*{_escape(str(view.value))}*" if view.value is not None else "no value"
    checked = f" · checked {when(view.checked_at)}" if view.checked_at is not None else ""
    why = ""
    if view.health == CheckHealth.FIRING and view.error:
        why = f"\n> cannot be read: {_escape(view.error)}"
    return (
        f"{_MARKS[view.health]} *{_escape(view.name)}* — {_escape(view.state)}\n"
        f"{value} ({_escape(view.bounds)}) · {_escape(view.reads)}{checked}{why}"
    )


def _escape(text: str) -> str:
    """Queries and errors carry ``<``, ``>`` and ``&``, which Slack would read as markup."""
    return inert(clip(text, LINE))
