"""The five whys' messages: questions and answers in the thread, the summary, the nag."""

from bot.intents.pressed import ActionId
from bot.render.kit import (
    LINE,
    Message,
    actions,
    button,
    clip,
    context,
    listing,
    message,
    section,
    when,
    who,
)
from bot.render.mrkdwn import USER_ID, inert, mention, said
from bot.render.notice import notice
from core import words
from core.actor import Actor
from core.whys.analysis import Analysis, Answer
from core.whys.investments import Investment
from core.whys.item_status import ItemStatus
from core.whys.notices import (
    AnswerEdited,
    InvestmentsAsked,
    InvestmentsNoted,
    MeetingNow,
    MeetingScheduled,
    NotedEarly,
    NotUnderstood,
    StillStopped,
    WhyAsked,
    WhysDone,
)
from core.whys.rule import Scheduled, SeveritySet

FORMAT = "`3: add a smoke test for sign-up @owner due fri #tests`, or `3: none: &lt;why&gt;`"
QUOTED = 300  # an answer quoted in the next question; the summary shows each in full up to LINE
NAMED_CAUSES = 4  # why 1 quotes the first causes; the rest are counted


@notice.register
def _(item: WhyAsked) -> Message:
    question = _question(item.analysis, item.level)
    return message(
        question,
        section(f":thinking_face: *{question}*"),
        context("Answer with `because …`, or pin a reply with :pushpin:."),
    )


@notice.register
def _(item: AnswerEdited) -> Message:
    text = f"Answer {item.level} is now: {said(clip(item.text, LINE * 5), item.by)}"
    return message(text, section(f":pencil2: {text}"))


@notice.register
def _(item: InvestmentsAsked) -> Message:
    shown = item.analysis
    text = (
        f"*Five whys found.* Now one investment per level — proportional: severity "
        f"*{shown.severity}*, {shown.severity.budget}; the fix must not cost more than the "
        f"problem.\nReply per level: {FORMAT}."
    )
    return message(
        "Five whys found: now one investment per level",
        section(_whys(shown)),
        section(text),
        actions(button("Open the form", ActionId.WHYS_FORM, str(shown.stoppage_id))),
    )


@notice.register
def _(item: InvestmentsNoted) -> Message:
    noted = "\n".join(clip(_investment(i), LINE) for i in item.noted)
    missing = item.analysis.missing()
    text = f"{noted}\nStill needed: {missing}."
    return message(f"Noted; still needed: {missing}", section(f":memo: {text}"))


@notice.register
def _(item: NotedEarly) -> Message:
    shown = item.analysis
    levels = words.listed([str(i.level) for i in item.noted])
    level = "levels" if len(item.noted) > 1 else "level"
    noted = "\n".join(clip(_investment(i), LINE) for i in item.noted)
    asked = shown.phase.asked
    still = f"why {asked} is still open" if asked is not None else ""
    text = f"Noted for {level} {levels}; {still} — answer it with `because …`.\n{noted}"
    return message(f"Noted for {level} {levels}; {still}", section(f":memo: {text}"))


@notice.register
def _(item: NotUnderstood) -> Message:
    reason = inert(clip(item.reason, LINE * 5))
    return message(reason, section(f":grey_question: {reason}"))


@notice.register
def _(item: WhysDone) -> Message:
    shown = item.analysis
    head = f":white_check_mark: *Five whys of stoppage #{shown.stoppage_id} done* — {_cause(shown)}"
    blocks = [section(head)]
    if shown.others:
        blocks.append(section(_causes_listed(shown)))
    blocks += [section(_whys(shown)), section(_items(shown))]
    if item.repeat_of is not None:
        blocks.append(
            context(
                f":repeat: This looks like stoppage #{item.repeat_of}: the same kind of root "
                "cause came back — is its investment enough?"
            )
        )
    blocks.append(context(f"severity {shown.severity}: {shown.severity.budget}"))
    more = len(shown.others)
    also = f" (+{more} more cause{'s' if more > 1 else ''})" if more else ""
    done = message(
        f"Five whys of stoppage #{shown.stoppage_id} done: {_cause(shown)}{also}", *blocks
    )
    return {**done, "reply_broadcast": True}  # the thread's reply, also shown in the channel


@notice.register
def _(item: MeetingScheduled) -> Message:
    text = (
        f":calendar: {who(item.by)} scheduled the five whys for {when(item.at)}; the line may "
        "start meanwhile."
    )
    return message(f"Five whys scheduled for {words.at(item.at)}", section(text))


@notice.register
def _(item: MeetingNow) -> Message:
    text = (
        f":alarm_clock: Time for the five whys of stoppage #{item.analysis.stoppage_id}. "
        f"It still lacks {item.analysis.missing()}; "
        f"{_next_step(item.analysis)}"
    )
    return message(
        f"Time for the five whys of stoppage #{item.analysis.stoppage_id}", section(text)
    )


@notice.register
def _(item: StillStopped) -> Message:
    waiting = (
        f", {words.counted(item.commits_waiting, 'commit')} waiting" if item.commits_waiting else ""
    )
    text = (
        f":hourglass: The line has been stopped for {words.span(item.stopped_for)}{waiting}. "
        f"The five whys still lacks {item.analysis.missing()}; {_next_step(item.analysis)}"
    )
    return message(f"Line stopped for {words.span(item.stopped_for)}", section(text))


def analysis(result: Analysis) -> Message:
    head = [f"*Five whys of stoppage #{result.stoppage_id}* — {_cause(result)}"]
    head.append(f"Severity {result.severity}: {result.severity.budget}.")
    blocks = [section("\n".join(head))]
    if result.answers:
        blocks.append(section(_whys(result)))
    if result.items:
        blocks.append(section(_items(result)))
    after = []
    if result.scheduled_at is not None:
        after.append(f"Meeting: {when(result.scheduled_at)}.")
    after.append("Done." if result.done else f"Still lacks {result.missing()}.")
    blocks.append(section(" ".join(after)))
    return message(f"Five whys of stoppage #{result.stoppage_id}: {result.missing()} left", *blocks)


def severity_set(result: SeveritySet) -> Message:
    shown = result.analysis
    text = (
        f"Stoppage #{shown.stoppage_id} is *{shown.severity}*: proportional means "
        f"{shown.severity.budget}."
    )
    return message(text.replace("*", ""), section(text))


def scheduled(result: Scheduled) -> Message:
    text = (
        f"Five whys of stoppage #{result.analysis.stoppage_id} scheduled for "
        f"{words.at(result.at)}: the thread hears a reminder then, and `/line start` may run."
    )
    return message(text, section(f":calendar: {text}"))


# --- pieces ----------------------------------------------------------------------------------


def _whys(shown: Analysis) -> str:
    lines = []
    for answer in shown.answers:
        edited = " _(edited)_" if answer.edited_at else ""
        by = _author(answer)
        lines.append(f"*{answer.level}.* {said(clip(answer.text, LINE), by)} — {who(by)}{edited}")
    return listing(lines, more=_see_thread) or "No answers yet."


def _items(shown: Analysis) -> str:
    lines = []
    for item in shown.items:
        text = inert(clip(item.text, LINE))
        if item.status == ItemStatus.NONE:
            lines.append(f"*{item.level}.* none — {text}")
            continue
        owner = _owner(item.owner, item.owner_name)
        category = inert(item.category or "")
        lines.append(f"*{item.level}.* {text} — {owner}, due {item.due} · {category}")
    return listing(lines or ["none yet"], head="*Investments*", more=_see_thread)


def _investment(item: Investment) -> str:
    text = inert(clip(item.text, LINE))
    if item.none:
        return f"Level {item.level}: none — {text}"
    owner = _owner(item.owner, item.owner_name)
    category = inert(item.category.value) if item.category else ""
    return f"Level {item.level}: {text} — {owner}, due {item.due} · {category}"


def _question(shown: Analysis, level: int) -> str:
    """Why 1 asks about the cause; every later why quotes the answer before it."""
    if level == 1:
        return f"Why 1: why did {_causes_named(shown)} happen?"
    before = next((a for a in shown.answers if a.level == level - 1), None)
    if before is None:
        return f"Why {level}: why “that”?"
    return f"Why {level}: why “{said(clip(before.text, QUOTED), _author(before))}”?"


def question(shown: Analysis, level: int) -> str:
    """The why asked at ``level``, as the thread asks it (why 1 names every cause known)."""
    return _question(shown, level)


def _causes_named(shown: Analysis) -> str:
    """Every cause, quoted: “a”, “b” and “c” — past the first few, how many more."""
    named = [f"“{said(clip(text, QUOTED), by)}”" for text, by in shown.causes[:NAMED_CAUSES]]
    hidden = len(shown.causes) - len(named)
    if hidden:
        named.append(f"{hidden} more cause{'s' if hidden > 1 else ''} (`/line status`)")
    return ", ".join(named[:-1]) + f" and {named[-1]}" if len(named) > 1 else named[0]


def _causes_listed(shown: Analysis) -> str:
    lines = [f"• {said(clip(text, LINE), by)} — {who(by)}" for text, by in shown.causes]
    return listing(lines, head="*Causes*", more=_see_thread)


def _cause(shown: Analysis, *, limit: int = LINE) -> str:
    by = shown.cause_by or Actor("andon", "andon", "andon")
    return said(clip(shown.cause, limit), by)


def _author(answer: Answer) -> Actor:
    via = "slack" if USER_ID.fullmatch(answer.by) else "cli"
    return Actor(answer.by, answer.by_name, via)


def _owner(owner: str | None, name: str | None) -> str:
    if owner and USER_ID.fullmatch(owner):
        return mention(owner)
    return inert(name or owner or "nobody")


def _see_thread(count: int) -> str:
    return f"… and {count} more: `/whys` and `GET /api/stoppages/&lt;id&gt;` show them all."


def _next_step(shown: Analysis) -> str:
    if (asked := shown.phase.asked) is not None:
        return f"answer in this thread with `because …`: {_question(shown, asked)}"
    return f"reply with one investment per missing level: {FORMAT}."
