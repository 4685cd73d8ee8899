"""A page's suspect flag changes: each listed with who made it and how long before, and a
*Turn off* button while the flag is on — once it is off, who turned it off."""

from bot.intents.pressed import ActionId
from bot.render.kit import LINE, are_you_sure, button, clip, who
from bot.render.mrkdwn import inert
from core import words
from core.alerts.flag_suspects import FlagSuspect, moved
from core.alerts.pages import PageView

SHOWN = 10  # one Turn off button each, beside the deploys' Roll back buttons


def listed(page: PageView) -> str:
    """The section under the deploys: ``checkout.v2`` ramped 30% → 60% in production …"""
    lines = [":triangular_flag_on_post: *Flags turned on or up shortly before* (newest first):"]
    for suspect in page.flags[:SHOWN]:
        lines.append(_line(page, suspect))
    hidden = len(page.flags) - SHOWN
    if hidden > 0:
        lines.append(f"… and {hidden} more: `/flag list` lists every flag.")
    return "\n".join(clip(line, LINE) for line in lines)


def buttons(page: PageView) -> list[dict]:
    """*Turn off* for each suspect flag still on in its environment."""
    out = []
    for suspect in page.flags[:SHOWN]:
        if suspect.off:
            continue
        change = suspect.change
        key, environment = inert(change.key), inert(change.environment)
        sure = are_you_sure(
            f"Turn off {clip(change.key, 80)}?",
            f"`{key}` goes to 0% in {environment} at once, for everyone "
            f"(now {suspect.percentage}%).",
            yes="Turn off",
        )
        value = f"{change.environment} {change.key}"
        out.append(
            button(f"Turn off {change.key}", ActionId.FLAG_OFF, value, style="danger", confirm=sure)
        )
    return out


def _line(page: PageView, suspect: FlagSuspect) -> str:
    change = suspect.change
    ago = words.span(page.at - change.at)
    said = (
        f"• `{inert(change.key)}` {moved(change)} in {inert(change.environment)} "
        f"by {who(change.by)}, {ago} ago"
    )
    if suspect.off and suspect.set_by is not None and change.after > 0:
        said += f" — :no_entry: turned off by {who(suspect.set_by)}"
    elif suspect.percentage != change.after:
        said += f" — now {suspect.percentage}%"
    return said
