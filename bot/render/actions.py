"""Action items: ``/actions``, the Done button's answer, the thread's note, the overdue DM."""

from datetime import date

from bot.intents.pressed import ActionId
from bot.render.kit import LINE, Message, button, clip, context, message, section, who
from bot.render.mrkdwn import USER_ID, inert, mention, named
from bot.render.notice import notice
from core.whys.actions import ActionDoneNotice, ActionList, Done, Overdue
from core.whys.analysis import Item

SHOWN = 40  # Slack shows at most 50 blocks in a message


def action_list(result: ActionList) -> Message:
    if not result.items:
        text = "No open action items." if result.everyone else "You have no open action items."
        return message(text, section(f":white_check_mark: {text}"))
    today = result.today
    count = len(result.items)
    late = sum(1 for item in result.items if _late(item, today))
    whose = "Open action items" if result.everyone else "Your open action items"
    head = f"*{whose}* — {count}" + (f", {late} overdue" if late else "")
    blocks = [section(head)]
    blocks += [_with_done(_line(item, today), item) for item in result.items[:SHOWN]]
    if count > SHOWN:
        blocks.append(context(f"… and {count - SHOWN} more, due later."))
    blocks.append(context("Press Done when an investment has landed; the stoppage's thread hears."))
    return message(f"{whose}: {count}" + (f", {late} overdue" if late else ""), *blocks)


def done(result: Done) -> Message:
    item = result.item
    text = (
        f"Marked done: level {item.level} of stoppage #{item.stoppage_id} — {_text(item)}. "
        "The stoppage's thread has been told."
    )
    return message(text, section(f":white_check_mark: {text}"))


@notice.register
def _(item: ActionDoneNotice) -> Message:
    done_ = item.item
    owner = _owner(done_)
    by = who(item.by)
    whose = f", owned by {owner}" if owner != by else ""
    text = (
        f":white_check_mark: {by} marked the level {done_.level} investment *done*: "
        f"{_text(done_)}{whose}."
    )
    return message(
        f"{named(item.by)} marked level {done_.level} done: {_text(done_)}", section(text)
    )


@notice.register
def _(item: Overdue) -> Message:
    count = len(item.items)
    these = "an action item" if count == 1 else f"{count} action items"
    head = (
        f":alarm_clock: You have {these} past due. Done? Press Done. Not yet? Say so in its thread."
    )
    blocks = [section(head)]
    blocks += [_with_done(_late_line(one), one) for one in item.items[:SHOWN]]
    if count > SHOWN:
        blocks.append(context(f"… and {count - SHOWN} more: `/actions` lists them all."))
    return message(f"You have {these} past due", *blocks)


# --- pieces ----------------------------------------------------------------------------------


def _line(item: Item, today: date) -> str:
    due = f"due {item.due}" if item.due else "no due date"
    if _late(item, today):
        due = f":warning: *overdue* — was {due}"
    category = inert(item.category or "no category")
    facts = [_owner(item), due, category, f"stoppage #{item.stoppage_id}"]
    facts.append(f"`/actions done {item.id}`")
    return f"*Level {item.level}* · {_text(item)}\n" + " · ".join(facts)


def _late_line(item: Item) -> str:
    return (
        f"*Level {item.level}* · {_text(item)}\n"
        f"was due {item.due} · {inert(item.category or 'no category')} · "
        f"stoppage #{item.stoppage_id}"
    )


def _text(item: Item) -> str:
    return inert(clip(item.text, LINE * 2))


def _with_done(text: str, item: Item) -> dict:
    block = section(text)
    block["accessory"] = button("Done", ActionId.ACTION_DONE, str(item.id), style="primary")
    return block


def _late(item: Item, today: date) -> bool:
    return item.due is not None and date.fromisoformat(item.due) < today


def _owner(item: Item) -> str:
    if item.owner and USER_ID.fullmatch(item.owner):
        return mention(item.owner)
    return f"*{inert(item.owner_name or item.owner or 'nobody')}*"
