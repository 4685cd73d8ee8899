"""What a storm of alerts looks like in chat: a page's alerts listed (clipped), one message for
the pages of an escalation round, the held count, and several causes in one thread reply."""

from bot.intents.pressed import ActionId
from bot.render.kit import (
    LINE,
    SECTION_TEXT,
    Message,
    actions,
    button,
    clip,
    context,
    listing,
    message,
    plain,
    section,
    when,
)
from bot.render.line import asked_again
from bot.render.message_links import marker
from bot.render.minimal import minimal
from bot.render.mrkdwn import inert, named, said, who
from bot.render.notice import notice
from core import words
from core.alerts.notices import Round, StormHeld, Unacknowledged
from core.alerts.pages import PageStatus, PageView
from core.line_notices import CausesAdded

SHOWN_ALERTS = 10  # alerts a page's message lists; the rest are counted
SHOWN_BUTTONS = 5  # Acknowledge buttons in a round's message
LISTED_NAME = 80  # ten pages in a round's message: each line stays short
LINK_ROOM = 200  # the link to the causes' own post, under their list
SUMMARY = 160  # an alert in a list: ten of them, and the page around them, fit one section


def many(page: PageView) -> bool:
    """A page of several alerts (a group) is shown as a list; a page of one, as it always was."""
    return page.firing + page.resolved > 1


def counted(page: PageView) -> str:
    """How many of its alerts fire: "2,000 alerts firing", "3 of 5 alerts firing"."""
    total = page.firing + page.resolved
    if page.resolved == 0:
        return f"{total:,} alerts firing"
    return f"{page.firing:,} of {total:,} alerts firing"


def alerts_listed(page: PageView) -> str:
    """The page's alerts, firing first, then those resolved struck through; clipped with
    "… and N more" and where to see them all."""
    lines = []
    for alert in page.alerts[:SHOWN_ALERTS]:
        text = inert(clip(alert.summary, SUMMARY))
        value = f" · `{inert(clip(alert.value, 60))}`" if alert.value else ""
        lines.append(f"• {text}{value}" if alert.firing else f"• ~{text}~ (resolved)")
    hidden = page.firing + page.resolved - len(lines)
    if hidden > 0:
        lines.append(
            f"… and {hidden:,} more: `GET /api/pages` lists every alert of page #{page.id}."
        )
    return "\n".join(lines)


def first_and_more(page: PageView) -> str:
    """The notification's words for a page of several alerts: the first, and how many more."""
    total = page.firing + page.resolved
    return f"{inert(clip(page.summary, 300))} and {total - 1:,} more"


@notice.register
def _(item: Unacknowledged) -> Message:
    match item.kind:
        case Round.CHANNEL:
            head = (
                f"<!here> :rotating_light: *{item.count} pages unacknowledged* — nobody has "
                "acknowledged them:"
            )
        case Round.NEXT:
            head = (
                f":rotating_light: *{item.count} pages escalated to you* — nobody acknowledged "
                "them:"
            )
        case _:
            head = f":rotating_light: Still firing, not acknowledged: *{item.count} pages*"
    lines = [_line(page) for page in item.pages]
    hidden = item.count - len(lines)
    if hidden > 0:
        lines.append(f"… and {hidden:,} more: `GET /api/pages` lists every page.")
    listed = "\n".join(lines)
    acks = [
        button(f"Acknowledge #{page.id}", ActionId.PAGE_ACK, str(page.id), style="primary")
        for page in item.pages
        if page.status == PageStatus.OPEN
    ][:SHOWN_BUTTONS]
    names = ", ".join(inert(clip(page.name, 60)) for page in item.pages[:3])
    text = f"{plain(head).rstrip(':')}: {names}" + (" …" if item.count > 3 else "")
    blocks = [section(f"{head}\n{listed}")]
    if acks:
        blocks.append(actions(*acks))
    shown = message(text, *blocks)
    fallback = minimal(text, *acks[:1])
    return {**shown, "page_ids": list(item.ids), "fallback": fallback}


@notice.register
def _(item: StormHeld) -> Message:
    text = (
        f"Alert storm: {item.pages:,} new pages ({item.alerts:,} alerts) held, not paged — over "
        f"{item.per_request} new pages per delivery or {item.per_minute} a minute"
    )
    body = (
        f":warning: *Alert storm* — *{item.pages:,} new pages* "
        f"({item.alerts:,} alerts) held since {when(item.since)}, not paged: over the limit of "
        f"{item.per_request} new pages per delivery and {item.per_minute} a minute."
    )
    more = (
        "Held pages are recorded, not lost: `GET /api/pages` lists them (status `held`). One is "
        "paged when its alerts are sent again and there is room; it resolves with its alerts. "
        "Pages already open still update in place."
    )
    return message(text, section(body), context(more))


@notice.register
def _(item: CausesAdded) -> Message:
    lines = [f"• {said(clip(reason, LINE), by)} — {who(by)}" for by, reason in item.causes]
    shown = listing(
        lines,
        head=f":heavy_plus_sign: *{len(item.causes)} more causes* at {when(item.at)}:",
        limit=SECTION_TEXT - LINK_ROOM,
        more=lambda n: (
            f"… and {n} more: `GET /api/stoppages/{item.stoppage_id}` lists every cause."
        ),
    )
    if item.post is not None:
        shown += f"\n{marker(item.post.id, 'Their own post in the channel')}"
    text = f"{len(item.causes)} more causes"
    if item.causes:
        first_by, first = item.causes[0]
        text += f", the first by {named(first_by)}: {said(clip(first, 200), first_by)}"
    return message(text, section(shown), *asked_again(item.asks))


def _line(page: PageView) -> str:
    severity = f" ({inert(clip(page.severity, 32))})" if page.severity else ""
    alerts = f" — {counted(page)}" if many(page) else f" — {inert(clip(page.summary, 100))}"
    since = words.span(page.at - page.opened_at)
    name = inert(clip(page.name, LISTED_NAME))
    return f"• page #{page.id}: *{name}*{severity}{alerts}, {since} ago"
