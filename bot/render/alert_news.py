"""What a page's sender says later: a firing alert changed (told to the person paged), and a
sender's test notification (said in the channel, never a page)."""

from bot.render.kit import LINE, Message, clip, context, listing, message, plain, section
from bot.render.mrkdwn import inert
from bot.render.notice import notice
from core.alerts.notices import Change, PageChanged, SenderTested

NAME = 150
SUMMARY = 600
SEVERITY = 32


@notice.register
def _(item: PageChanged) -> Message:
    page = item.page
    lines = [_changed(change) for change in item.changes]
    name = inert(clip(page.name, NAME))
    head = f":rotating_light: *{name}* — page #{page.id} changed:"
    if len(lines) == 1:
        head, lines = f"*{name}* — page #{page.id} {lines[0]}", []
        head = (":rotating_light: " if item.changes[0].severity_changed else ":memo: ") + head
    shown = listing(
        lines,
        head=head,
        more=lambda n: f"… and {n} more: `GET /api/pages` has page #{page.id}'s alerts.",
    )
    later = "The page above is updated too."
    return message(clip(plain(shown.replace("\n", " ")), LINE * 2), section(shown), context(later))


@notice.register
def _(item: SenderTested) -> Message:
    sender = inert(clip(item.sender, NAME))
    text = f"{sender}'s test notification reached Andon"
    more = (
        "A test pages nobody and leaves the line running; this contact point's real alerts page "
        "the person on call."
    )
    return message(text, section(f":white_check_mark: {text}."), context(more))


def _changed(change: Change) -> str:
    summary = inert(clip(change.summary, SUMMARY))
    if change.severity_changed:
        now = inert(clip(change.severity or "no severity", SEVERITY))
        was = f" (was {inert(clip(change.severity_was, SEVERITY))})" if change.severity_was else ""
        return f"is now {now}{was}: {summary}"
    return f"now says: {summary}"
