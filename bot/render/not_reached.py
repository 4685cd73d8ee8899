"""What the channel hears when a page's DM could not be delivered to the person paged."""

from bot.intents.pressed import ActionId
from bot.render.kit import Message, actions, button, message, section
from bot.render.mrkdwn import inert, mention
from bot.render.notice import notice
from core.alerts.notices import NotReached
from core.alerts.pages import PageStatus


@notice.register
def _(item: NotReached) -> Message:
    page = item.page
    missed = f"Could not reach {mention(item.user)} for page #{page.id} ({inert(item.reason)})"
    if item.paging is not None:
        said = f"{missed} — paging {mention(item.paging)}"
        head = f":warning: {said}."
    else:
        said = f"@here {missed} — nobody is left to page"
        head = f"<!here> :rotating_light: {missed} — nobody is left to page: it is the channel's."
    blocks = [section(f"{head}\n*{inert(page.name)}*: {inert(page.summary)}")]
    if page.status == PageStatus.OPEN:
        ack = button("Acknowledge", ActionId.PAGE_ACK.nth(0), str(page.id), style="primary")
        blocks.append(actions(ack))
    return message(said, *blocks)
