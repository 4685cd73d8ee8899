"""Paging's messages: the DM to the person on call, escalations, and the on-call answers."""

from bot.intents.pressed import ActionId
from bot.render import flag_suspects, page_facts
from bot.render.kit import (
    LINE,
    Message,
    actions,
    are_you_sure,
    button,
    clip,
    context,
    message,
    plain,
    section,
    when,
    who,
)
from bot.render.minimal import minimal
from bot.render.mrkdwn import inert, mention
from bot.render.notice import notice
from bot.render.storm import alerts_listed, counted, first_and_more, many
from core import words
from core.alerts.escalation import Acknowledged, Resolved
from core.alerts.notices import Escalated, Held, Paged, PageWithoutStop
from core.alerts.oncall import HandedOver, Oncall, OverrideSet
from core.alerts.pages import PageStatus, PageView

SHOWN_SUSPECTS = 10  # one Roll back button each: a page offers every recent suspect
NAME = 150
SUMMARY = 1_500


@notice.register
def _(item: Paged) -> Message:
    page = item.page
    head = _head(page, reminder=item.reminder)
    return _paging(page, message(_plain(page, head), *_body(page, head)))


@notice.register
def _(item: Escalated) -> Message:
    page = item.page
    name = _name(page)
    if item.to_channel:
        head = f"<!here> :rotating_light: *Nobody has acknowledged page #{page.id}*: {name}"
    else:
        head = (
            f":rotating_light: *Page #{page.id} escalated to you* — nobody acknowledged it: {name}"
        )
    return _paging(page, message(_plain(page, head), *_body(page, head)), here=item.to_channel)


@notice.register
def _(item: PageWithoutStop) -> Message:
    page = item.page
    whom = f"paged {_user(page.oncall)}" if page.oncall else "nobody is on call to page"
    if page.stops_line:  # its alert changed, and its routes stop the line now
        why = "it stops the line now"
    elif (page.severity or "").lower() == "info":
        why = "an info alert leaves the line running"
    else:
        why = "this alert's route leaves the line running"
    head = f":bell: *{_name(page)}* — {whom}; {why}."
    return message(_plain(page, head), *_body(page, head))


@notice.register
def _(item: Held) -> Message:
    name = inert(clip(item.name, NAME))
    text = (
        f":repeat: *{name}* fired {item.times} times in {item.window_minutes} min: it is "
        "held as flapping — recorded, not paged each time. Fix the alert or its threshold."
    )
    return message(f"{name} is flapping: held, not paged", section(text))


@notice.register
def _(item: HandedOver) -> Message:
    why = "covering the rotation" if item.covering else "your turn in the rotation"
    text = f":pager: You are on call now ({why}) until {when(item.until)}."
    return message(f"You are on call now until {words.at(item.until)}", section(text))


def oncall(result: Oncall) -> Message:
    if result.now is None:
        text = "Nobody is on call."
        return message(text, section(text))
    shift = result.now
    covering = " (covering)" if shift.covering else ""
    text = f":pager: On call now: {_user(shift.user)}{covering} until {when(shift.until)}"
    if result.next_user:
        text += f"; next: {_user(result.next_user)}"
    return message(plain(text), section(text))


def override_set(result: OverrideSet) -> Message:
    text = f":pager: {_user(result.user)} is on call until {when(result.until)}."
    return message(plain(text), section(text))


def acknowledged(result: Acknowledged) -> Message:
    text = f"You acknowledged page #{result.page.id} ({_name(result.page)}): repeats have stopped."
    return message(text, section(f":white_check_mark: {text}"))


def resolved(result: Resolved) -> Message:
    text = f"Page #{result.page.id} ({_name(result.page)}) is resolved."
    if result.page.cost is not None:
        text += " The line stays stopped until someone runs `/line start`."
    return message(text, section(f":white_check_mark: {text}"))


def page_blocks(page: PageView, head: str) -> list[dict]:
    """A page as its messages show it under ``head``: its alerts, facts, suspects, buttons."""
    return _body(page, head)


def page_text(page: PageView, head: str) -> str:
    """A page's notification text."""
    return _plain(page, head)


# --- pieces ----------------------------------------------------------------------------------


def _head(page: PageView, *, reminder: bool) -> str:
    match page.status:
        case PageStatus.ACKNOWLEDGED:  # still firing: struck through only once resolved
            by = who(page.acked_by) if page.acked_by else "someone"
            return f":white_check_mark: *{_name(page)}* — acknowledged by {by}, still firing"
        case PageStatus.RESOLVED:
            source = inert(clip(page.sender, NAME))
            by = who(page.resolved_by) if page.resolved_by else source
            if page.resolved_by and page.resolved_by.id.startswith("alerts:"):
                by = source
            return f":large_green_circle: ~{_name(page)}~ — resolved by {by}"
    again = "Still firing, not acknowledged: " if reminder else ""
    severity = f" ({inert(clip(page.severity, NAME))})" if page.severity else ""
    count = f" · {counted(page)}" if many(page) else ""
    origin = page_facts.origin(page)
    return f":rotating_light: {again}*{_name(page)}*{origin}{severity} — page #{page.id}{count}"


def _body(page: PageView, head: str) -> list[dict]:
    lines = [head]
    if many(page):
        lines.append(alerts_listed(page))
    elif page.summary != page.name:  # a page named by its summary says it once
        lines.append(inert(clip(page.summary, SUMMARY)))
    if page.value and not many(page):
        lines.append(f"value: `{inert(clip(page.value, NAME))}`")
    described = page_facts.description(page)
    if described:
        lines.append(described)
    blocks = [section("\n".join(lines)), *page_facts.blocks(page)]
    facts = [f"{page_facts.fired(page)} · from {inert(clip(page.sender, NAME))}"]
    if page.cost is not None:
        cost = page.cost
        waiting = (
            f", {words.counted(cost.commits_waiting, 'commit')} waiting"
            if cost.commits_waiting
            else ""
        )
        facts.append(f"line stopped {words.span(cost.stopped_for)}{waiting}")
    elif not page.stops_line:
        facts.append("the line keeps running")
    blocks.append(context(" · ".join(facts)))
    if page.suspects:
        blocks.append(section(_suspects(page)))
    if page.flags:
        blocks.append(section(flag_suspects.listed(page)))
    buttons = _buttons(page)
    if buttons:
        blocks.append(actions(*buttons))
    return blocks


def _suspects(page: PageView) -> str:
    lines = [":mag: *Deployed shortly before* (newest first):"]
    for deploy in page.suspects[:SHOWN_SUSPECTS]:
        ago = words.span(page.at - (deploy.finished_at or page.at))
        lines.append(
            f"• `{deploy.short}` to {inert(deploy.environment)} by {who(deploy.requested_by)}, "
            f"{ago} ago"
        )
    hidden = len(page.suspects) - SHOWN_SUSPECTS
    if hidden > 0:
        lines.append(f"… and {hidden} more: `GET /api/deploys` lists every deploy.")
    return "\n".join(clip(line, LINE) for line in lines)


def _buttons(page: PageView) -> list[dict]:
    if page.status == PageStatus.RESOLVED:
        return []
    buttons = []
    if page.status == PageStatus.OPEN:
        buttons.append(button("Acknowledge", ActionId.PAGE_ACK, str(page.id), style="primary"))
    buttons.append(button("Resolve", ActionId.PAGE_RESOLVE, str(page.id)))
    for deploy in page.suspects[:SHOWN_SUSPECTS]:
        previous = deploy.rollback_to  # only from what still runs, never to itself
        if previous is not None:
            value = f"{deploy.environment} {previous}"
            sure = are_you_sure(
                f"Roll back {clip(deploy.environment, 40)}?",
                f"Every host of {inert(deploy.environment)} goes back from `{deploy.short}` to "
                f"`{previous[:7]}` at once.",
                yes="Roll back",
            )
            label = f"Roll back {deploy.short}"
            buttons.append(
                button(label, ActionId.DEPLOY_ROLLBACK, value, style="danger", confirm=sure)
            )
    return [*buttons, *flag_suspects.buttons(page)]


def _paging(page: PageView, shown: Message, *, here: bool = False) -> Message:
    """Which page it is (the courier hands an undeliverable page DM on), and its minimal form:
    the text and *Acknowledge*, for when Slack refuses the whole."""
    ack = button("Acknowledge", ActionId.PAGE_ACK.nth(0), str(page.id), style="primary")
    text = f"<!here> {shown['text'].removeprefix('@here ')}" if here else shown["text"]
    fallback = minimal(text, *([ack] if page.status == PageStatus.OPEN else []))
    return {**shown, "page_id": page.id, "fallback": fallback}


def _user(user: str | None) -> str:
    return mention(user) if user else "nobody"


def _name(page: PageView) -> str:
    return inert(clip(page.name, NAME))


def _plain(page: PageView, head: str) -> str:
    if not many(page) and page.summary == page.name:
        return plain(head)
    said = first_and_more(page) if many(page) else inert(clip(page.summary, 300))
    return f"{plain(head)}: {said}"
