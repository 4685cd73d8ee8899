"""The Home tab: the line, each environment's deploys, who is on call, the open pages and the
viewer's own action items, as one Block Kit view.

Whatever the data — 50 causes of 2,000 characters, hundreds of pages or action items — the view
stays inside Slack's limits for a Home (100 blocks; a section's text 3,000 characters): long
texts are clipped with "…", lists show their first few and say how many more and where to see
them all.
"""

from datetime import date
from typing import Any

from bot.intents.pressed import ActionId
from bot.render.kit import button, context, section, when
from bot.render.mrkdwn import inert, link, mention, said, who
from core import words
from core.alerts.pages import PageStatus, PageView
from core.deploy.records import DeployView
from core.deploy.state import DeployState
from core.home.view import EnvironmentDeploys, Home
from core.line import LineState
from core.whys.analysis import Item

View = dict[str, Any]
Block = dict[str, Any]

MAX_TEXT = 3000  # a section's text
SHOWN_CAUSES = 5
SHOWN_ENVIRONMENTS = 6
SHOWN_PAGES = 5
SHOWN_ITEMS = 15
CLIP = 300  # characters of one outside text: a cause, a page's summary, an action item
# By construction at most 4 + 9 + 3 + 8 + 18 + 1 = 43 blocks: well under a Home's 100.

_STATUS = {
    DeployState.SUCCEEDED: ":white_check_mark: succeeded",
    DeployState.FAILED: ":x: failed",
    DeployState.INTERRUPTED: ":warning: interrupted",
    DeployState.CANCELLED: ":heavy_multiplication_x: cancelled",
}
_UNDER_WAY = {
    DeployState.AWAITING_APPROVAL: "waiting for approval",
    DeployState.PENDING: "about to start",
    DeployState.RUNNING: "running",
}


def home(view: Home) -> View:
    """The view ``views.publish`` takes for one person."""
    blocks = [
        *_line(view),
        *_deploys(view),
        *_oncall(view),
        *_pages(view),
        *_items(view),
        context(
            f"Updated {when(view.at)} · refreshed when the line stops or starts, a deploy "
            "starts or ends, and each time you open this tab."
        ),
    ]
    return {"type": "home", "callback_id": "andon_home", "blocks": blocks}


# --- the line ----------------------------------------------------------------------------------


def _line(view: Home) -> list[Block]:
    status = view.line
    length = words.span(status.now - status.since)
    stoppage = status.stoppage
    if status.state == LineState.RUNNING or stoppage is None:
        text = (
            f":large_green_circle: The line has been *running* since {when(status.since)}"
            f" ({length})."
        )
        return [_header("The line"), section(text)]
    head = (
        f":red_circle: The line has been *stopped* since {when(status.since)} ({length}) by "
        f"{who(stoppage.opened_by)} — stoppage #{stoppage.id}."
    )
    lines = [f"• {said(_clip(c.text), c.by)} — {who(c.by)}, {when(c.at)}" for c in stoppage.causes]
    causes, shown = _within("*Causes*", lines[:SHOWN_CAUSES])
    thread = link(stoppage.thread_link, "its thread") if stoppage.thread_link else None
    where = f"in {thread}" if thread else "in the thread under the announcement"
    notes = [f"The five whys happens {where}."]
    if len(lines) > shown:
        notes.insert(0, f"… and {len(lines) - shown} more causes: `/line status` lists them all.")
    return [_header("The line"), section(head), section(causes), context(*notes)]


# --- deploys -----------------------------------------------------------------------------------


def _deploys(view: Home) -> list[Block]:
    blocks = [_divider(), _header("Deploys")]
    if not view.environments:
        text = "No environments are configured — `[environments.&lt;name&gt;]` in andon.toml."
        return [*blocks, section(text)]
    blocks += [section(_environment(env)) for env in view.environments[:SHOWN_ENVIRONMENTS]]
    notes = ["Every deploy: `/deploy status`, `GET /api/deploys`."]
    more = len(view.environments) - SHOWN_ENVIRONMENTS
    if more > 0:
        notes.insert(0, f"… and {more} more environments.")
    return [*blocks, context(*notes)]


def _environment(env: EnvironmentDeploys) -> str:
    name = f"*{inert(env.name)}*"
    deploy = env.under_way
    if deploy is not None:
        doing = "rolling back to" if deploy.is_rollback else "deploying"
        since = when(deploy.started_at or deploy.requested_at)
        return (
            f"{name} — :rocket: {doing} `{inert(deploy.short)}` by {who(deploy.requested_by)}, "
            f"{_UNDER_WAY.get(deploy.status, deploy.status.value)} since {since} · "
            f"{deploy.live_hosts}/{len(deploy.hosts)} hosts live"
        )
    if not env.recent:
        return f"{name} — no deploys yet."
    return "\n".join([name, *(_ended(deploy) for deploy in env.recent)])


def _ended(deploy: DeployView) -> str:
    kind = "rollback to" if deploy.is_rollback else "deploy of"
    status = _STATUS.get(deploy.status, deploy.status.value)
    at = when(deploy.finished_at or deploy.requested_at)
    return f"• {kind} `{inert(deploy.short)}` by {who(deploy.requested_by)} — {status}, {at}"


# --- on call -----------------------------------------------------------------------------------


def _oncall(view: Home) -> list[Block]:
    blocks = [_divider(), _header("On call")]
    found = view.oncall
    if found is None:
        return [*blocks, section("Nobody is on call: no `[oncall] rotation` in andon.toml.")]
    if found.now is None:
        text = "Nobody is on call now."
    else:
        covering = " (covering)" if found.now.covering else ""
        text = f":pager: Now: {mention(found.now.user)}{covering} until {when(found.now.until)}"
    if found.next_user:
        text += f"\nNext: {mention(found.next_user)}"
    return [*blocks, section(text)]


# --- pages -------------------------------------------------------------------------------------


def _pages(view: Home) -> list[Block]:
    blocks = [_divider(), _header("Open pages")]
    if not view.pages:
        return [*blocks, section(":white_check_mark: No open pages.")]
    blocks += [section(_page(page)) for page in view.pages[:SHOWN_PAGES]]
    more = view.open_pages - min(len(view.pages), SHOWN_PAGES)
    if more > 0:
        blocks.append(context(f"… and {more} more open pages: `GET /api/pages` lists them all."))
    return blocks


def _page(page: PageView) -> str:
    severity = f" ({inert(_clip(page.severity, 40))})" if page.severity else ""
    state = "acknowledged" if page.status == PageStatus.ACKNOWLEDGED else "not acknowledged"
    paged = f"paged {mention(page.oncall)}" if page.oncall else "nobody paged"
    lines = [
        f":rotating_light: *{inert(_clip(page.name, 150))}*{severity} — page #{page.id}, {state}",
        inert(_clip(page.summary)),
        f"fired {when(page.opened_at)} · {paged}",
    ]
    if page.url:
        lines.append(link(page.url, "where it fired"))
    return _within(lines[0], lines[1:])[0]


# --- the viewer's action items -----------------------------------------------------------------


def _items(view: Home) -> list[Block]:
    blocks = [_divider(), _header("Your action items")]
    if not view.items:
        return [*blocks, section(":white_check_mark: You have no open action items.")]
    today = view.today
    shown = view.items[:SHOWN_ITEMS]
    blocks += [_item(item, today, index) for index, item in enumerate(shown)]
    more = view.open_items - len(shown)
    if more > 0:
        blocks.append(context(f"… and {more} more: `/actions` lists them all."))
    return blocks


def _item(item: Item, today: date, index: int) -> Block:
    due = f"due {item.due}" if item.due else "no due date"
    if item.due is not None and date.fromisoformat(item.due) < today:
        due = f":warning: *overdue* — was {due}"
    facts = [due, inert(item.category or "no category"), f"stoppage #{item.stoppage_id}"]
    block = section(f"*Level {item.level}* · {inert(_clip(item.text))}\n" + " · ".join(facts))
    # One action_id per button: Slack refuses a view with two alike.
    done = ActionId.ACTION_DONE.nth(index)
    block["accessory"] = button("Done", done, str(item.id), style="primary")
    return block


# --- pieces ------------------------------------------------------------------------------------


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _divider() -> Block:
    return {"type": "divider"}


def _clip(text: str, limit: int = CLIP) -> str:
    """Outside text on one line, cut before it is escaped (escaping only lengthens it)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _within(head: str, lines: list[str]) -> tuple[str, int]:
    """``head`` and as many of ``lines`` as fit in one section; returns the text and how many
    lines it holds."""
    text, shown = head, 0
    for line in lines:
        if len(text) + 1 + len(line) > MAX_TEXT:
            break
        text, shown = f"{text}\n{line}", shown + 1
    return text, shown
