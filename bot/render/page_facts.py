"""What a page's sender adds, as the page shows it: the system it names, when it fired, what the
alert means, where to act (runbook, silence, graph, image) and the sender's own details — every
piece of it outside text, shown inert and within Slack's limits."""

from datetime import timedelta

from bot.render.kit import SECTION_TEXT, clip, listing, section, when
from bot.render.mrkdwn import inert, link
from core.alerts.pages import PageView

DESCRIPTION = 600
ORIGIN = 80
LABEL = 60
DETAIL_NAME = 60
DETAIL = 200
SHOWN_DETAILS = 10
WHERE_IT_FIRED = "where it fired"
LINKS_ROOM = SECTION_TEXT - 100  # what the links may take of their section: "… and N more" fits
NOTICED_LATE = timedelta(minutes=1)  # received this long after it fired: both are said


def origin(page: PageView) -> str:
    """The affected system as the sender names it, beside the page's name."""
    return f" · {inert(clip(page.facts.origin, ORIGIN))}" if page.facts.origin else ""


def fired(page: PageView) -> str:
    """When it fired, as the sender says; when Andon heard of it later, that too."""
    if page.fired_at is None:
        return f"fired {when(page.opened_at)}"
    said = f"fired {when(page.fired_at)}"
    if page.opened_at - page.fired_at >= NOTICED_LATE:
        said += f", paged {when(page.opened_at)}"
    return said


def description(page: PageView) -> str | None:
    shown = page.facts.description
    return inert(clip(shown, DESCRIPTION)) if shown else None


def blocks(page: PageView) -> list[dict]:
    """The links, then the details: a section each, when there are any."""
    found = []
    links = _links(page)
    if links:
        found.append(section(links))
    if page.facts.details:
        lines = [
            f"• *{inert(clip(name, DETAIL_NAME))}*: {inert(clip(value, DETAIL))}"
            for name, value in page.facts.details
        ]
        shown = listing(
            lines,
            head="*Details*",
            shown=SHOWN_DETAILS,
            more=lambda n: (
                f"… and {n} more: `GET /api/pages` shows every detail of page #{page.id}."
            ),
        )
        found.append(section(shown))
    return found


def _links(page: PageView) -> str:
    """Each link the sender gave, as many as fit one section; a link never cut in half."""
    pairs = list(page.facts.links)  # named by the sender: its own names win
    if page.url and page.url not in {url for _, url in pairs}:
        pairs.insert(0, (WHERE_IT_FIRED, page.url))
    shown: list[str] = []
    used = 0
    for index, (label, url) in enumerate(pairs):
        rendered = link(url, clip(label, LABEL))
        if used + len(rendered) + 3 > LINKS_ROOM:
            hidden = len(pairs) - index
            shown.append(f"… and {hidden} more: `GET /api/pages` lists them")
            break
        shown.append(rendered)
        used += len(rendered) + 3
    return ":link: " + " · ".join(shown) if shown else ""
