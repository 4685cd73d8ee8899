"""The five whys' messages: questions and answers in the thread, the summary, the nag."""

from bot.buttons import ActionId
from bot.render.kit import Message, actions, button, context, message, section, when, who
from bot.render.notice import notice
from core import words
from core.actor import Actor
from core.whys.analysis import LEVELS, Analysis
from core.whys.investments import Investment
from core.whys.notices import (
    AnswerEdited,
    ForcedStart,
    InvestmentsAsked,
    InvestmentsNoted,
    MeetingNow,
    MeetingScheduled,
    NotUnderstood,
    StillStopped,
    WhyAsked,
    WhysDone,
)
from core.whys.rule import Scheduled, SeveritySet

FORMAT = "`3: add a smoke test for sign-up @maria due 2026-12-04 #tests`, or `3: none: <why>`"


@notice.register
def _(item: WhyAsked) -> Message:
    question = item.analysis.question(item.level)
    return message(question, section(f":thinking_face: *{question}*"))


@notice.register
def _(item: AnswerEdited) -> Message:
    text = f"Answer {item.level} is now: {item.text}"
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
    noted = "\n".join(_investment(i) for i in item.noted)
    missing = item.analysis.missing()
    text = f"{noted}\nStill needed: {missing}."
    return message(f"Noted; still needed: {missing}", section(f":memo: {text}"))


@notice.register
def _(item: NotUnderstood) -> Message:
    return message(item.reason, section(f":grey_question: {item.reason}"))


@notice.register
def _(item: WhysDone) -> Message:
    shown = item.analysis
    head = f":white_check_mark: *Five whys of stoppage #{shown.stoppage_id} done* — {shown.cause}"
    blocks = [section(head), section(_whys(shown)), section(_items(shown))]
    if item.repeat_of is not None:
        blocks.append(
            context(
                f":repeat: This looks like stoppage #{item.repeat_of}: the same kind of root "
                "cause came back — is its investment enough?"
            )
        )
    blocks.append(context(f"severity {shown.severity}: {shown.severity.budget}"))
    return message(f"Five whys of stoppage #{shown.stoppage_id} done: {shown.cause}", *blocks)


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
    waiting = f", {item.commits_waiting} commits waiting" if item.commits_waiting else ""
    text = (
        f":hourglass: The line has been stopped for {words.span(item.stopped_for)}{waiting}. "
        f"The five whys still lacks {item.analysis.missing()}; {_next_step(item.analysis)}"
    )
    return message(f"Line stopped for {words.span(item.stopped_for)}", section(text))


@notice.register
def _(item: ForcedStart) -> Message:
    text = (
        f":warning: {who(item.by)} *forced the line to start*: {item.reason} — the five whys "
        f"of stoppage #{item.stoppage_id} still lacks {item.missing}."
    )
    return message(f"{item.by.name} forced the line to start: {item.reason}", section(text))


def analysis(result: Analysis) -> Message:
    lines = [f"*Five whys of stoppage #{result.stoppage_id}* — {result.cause}"]
    lines.append(f"Severity {result.severity}: {result.severity.budget}.")
    if result.answers:
        lines.append(_whys(result))
    if result.items:
        lines.append(_items(result))
    if result.scheduled_at is not None:
        lines.append(f"Meeting: {when(result.scheduled_at)}.")
    lines.append("Done." if result.done else f"Still lacks {result.missing()}.")
    text = "\n".join(lines)
    return message(
        f"Five whys of stoppage #{result.stoppage_id}: {result.missing()} left", section(text)
    )


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
        by = who(Actor(answer.by, answer.by_name, "slack" if answer.by[:1] in "UW" else "cli"))
        lines.append(f"*{answer.level}.* {answer.text} — {by}{edited}")
    return "\n".join(lines) or "No answers yet."


def _items(shown: Analysis) -> str:
    lines = []
    for item in shown.items:
        if item.status == "none":
            lines.append(f"*{item.level}.* none — {item.text}")
            continue
        owner = f"<@{item.owner}>" if item.owner and item.owner[:1] in "UW" else item.owner_name
        lines.append(f"*{item.level}.* {item.text} — {owner}, due {item.due} · {item.category}")
    return "*Investments*\n" + ("\n".join(lines) or "none yet")


def _investment(item: Investment) -> str:
    if item.none:
        return f"Level {item.level}: none — {item.text}"
    owner = f"<@{item.owner}>" if item.owner and item.owner[:1] in "UW" else item.owner_name
    category = item.category.value if item.category else ""
    return f"Level {item.level}: {item.text} — {owner}, due {item.due} · {category}"


def _next_step(shown: Analysis) -> str:
    if shown.open_level <= LEVELS:
        return f"reply in this thread: {shown.question(shown.open_level)}"
    return f"reply with one investment per missing level: {FORMAT}."
