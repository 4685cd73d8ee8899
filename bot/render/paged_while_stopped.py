"""A page that arrives while the line is already stopped: its own post in the channel, named
after the system that sent it, which the stoppage's thread links to as another cause."""

from bot.render import mrkdwn
from bot.render.alerts import page_blocks, page_text
from bot.render.kit import LINE, Message, clip, context, listing, message, section
from bot.render.notice import notice
from bot.render.storm import counted, many
from core.alerts.notices import PagedWhileStopped
from core.alerts.pages import PageView

NAME = 150
SUMMARY = 160


@notice.register
def _(item: PagedWhileStopped) -> Message:
    if not item.pages:  # nothing opened after all: nothing to show but the stoppage
        return message(f"Stoppage #{item.stoppage_id} has no new page.")
    first = item.pages[0]
    sender = f"*{mrkdwn.inert(clip(first.sender, NAME))}*"
    whom = (
        f"paged {mrkdwn.mention(first.oncall)}" if first.oncall else "paged nobody (no one on call)"
    )
    cause = (
        f"The line was already stopped: {'this page is' if len(item.pages) == 1 else 'these are'} "
        f"another cause of stoppage #{item.stoppage_id} — its five whys is in the thread under "
        "the stop announcement."
    )
    if len(item.pages) == 1:
        head = f":rotating_light: {sender} {whom}: {_named(first)} — page #{first.id}"
        return message(page_text(first, head), *page_blocks(first, head), context(cause))
    lines = [_line(page) for page in item.pages]
    shown = listing(
        lines,
        head=f":rotating_light: {sender} {whom}: *{len(item.pages)} new pages*",
        more=lambda n: f"… and {n} more: `GET /api/pages` lists every page.",
    )
    text = (
        f"{mrkdwn.inert(clip(first.sender, NAME))} paged: {len(item.pages)} new pages, the first "
        f"{mrkdwn.inert(clip(first.name, NAME))}"
    )
    return message(text, section(shown), context(cause))


def _named(page: PageView) -> str:
    severity = f" ({mrkdwn.inert(clip(page.severity, 32))})" if page.severity else ""
    return f"*{mrkdwn.inert(clip(page.name, NAME))}*{severity}"


def _line(page: PageView) -> str:
    said = counted(page) if many(page) else mrkdwn.inert(clip(page.summary, SUMMARY))
    return clip(f"• page #{page.id}: {_named(page)} — {said}", LINE)
