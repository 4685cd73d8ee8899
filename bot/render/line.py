"""The line's messages: announcements in the channel, answers to the person who asked."""

from bot.intents.pressed import ActionId
from bot.render.kit import (
    LINE,
    Message,
    actions,
    are_you_sure,
    button,
    clip,
    context,
    listing,
    message,
    section,
    when,
    who,
)
from bot.render.message_links import marker
from bot.render.mrkdwn import inert, link, named, said
from bot.render.notice import notice
from bot.render.whys import question
from core import words
from core.actor import Actor
from core.line import AlreadyStopped, LineState, LineStatus, Started, Stopped
from core.line_notices import CauseAdded, LineStarted, LineStopped, ThreadOpened
from core.stoppage import StoppageView
from core.whys.analysis import Analysis

QUOTED = 200  # a reason quoted inside a sentence; the thread's head shows it whole
_STARTS_WHEN = (
    ":memo: `/line start` works once the five whys in the thread is done — or booked: "
    "`/whys schedule tomorrow 10:00` schedules the meeting, and the line may start meanwhile."
)
SHOWN_CAUSES = 5  # the announcement lists the first causes that joined; /line status all


@notice.register
def _(item: LineStopped) -> Message:
    reason = said(item.reason, item.by)
    head = f"*Line stopped* by {who(item.by)} at {when(item.at)} — {reason}"
    if item.restarted_by is not None and item.restarted_at is not None:
        took = words.span(item.restarted_at - item.at)
        return message(
            f"Line stopped by {named(item.by)}: {_short(item.reason, item.by)}{_more(item)} "
            "(restarted)",
            section(f":octagonal_sign: ~{head}~"),
            *_others(item),
            context(
                f":white_check_mark: Restarted by {who(item.restarted_by)} at "
                f"{when(item.restarted_at)}, after {took} · stoppage #{item.stoppage_id}"
            ),
        )
    shown = [
        section(f":octagonal_sign: {head}"),
        *_others(item),
        context(
            f"Deploys and pushes to the line's branch are paused until `/line start`. "
            f"Stoppage #{item.stoppage_id} · its five whys happens in the thread."
        ),
    ]
    if item.may_start:
        shown.append(actions(_start_button(item.stoppage_id)))
    else:  # a Start the rule would refuse is not offered: what clears the way is
        shown.append(context(_STARTS_WHEN))
        shown.append(actions(_schedule_button(item.stoppage_id)))
    return message(
        f"Line stopped by {named(item.by)}: {_short(item.reason, item.by)}{_more(item)}", *shown
    )


@notice.register
def _(item: ThreadOpened) -> Message:
    question = f"Why 1: why did “{_short(item.reason, item.by)}” happen?"
    text = (
        f":memo: Stoppage #{item.stoppage_id}: *{said(item.reason, item.by)}*\n"
        f"This thread is its five whys. *{question}* Answer with a reply that starts with "
        "`because …`, or pin someone's reply with :pushpin: — other replies are just talk. "
        "Each answer gets the next why, until five; `edit 2: …` corrects an answer, `back` "
        "reopens the previous one; `3: &lt;action&gt; @owner due fri` invests at any time."
    )
    return message(
        f"Stoppage #{item.stoppage_id} — {question}",
        section(text),
        context(
            "Severity minor unless an alert or `/whys severity major|critical` says otherwise: "
            "investments proportional to it. `/line start` waits until it is done or "
            "`/whys schedule &lt;when&gt;`."
        ),
    )


@notice.register
def _(item: CauseAdded) -> Message:
    reason = said(item.reason, item.by)
    own = f" — {marker(item.post.id, 'its own post in the channel')}" if item.post else ""
    return message(
        f"{named(item.by)} added a cause: {_short(item.reason, item.by)}",
        section(f":heavy_plus_sign: {who(item.by)} added a cause: {reason}{own}"),
        *asked_again(item.asks),
    )


def asked_again(asks: Analysis | None) -> list[dict]:
    """While why 1 is open, a new cause changes it: asked again, about every cause."""
    if asks is None:
        return []
    return [context(f":thinking_face: Now *{question(asks, 1)}*")]


@notice.register
def _(item: LineStarted) -> Message:
    took = words.span(item.stopped_for)
    head = (
        f"*Line running again* — started by {who(item.by)} after {took} stopped "
        f"(stoppage #{item.stoppage_id})."
    )
    text = f"Line running again, started by {named(item.by)} after {took} stopped"
    if item.forced is not None:
        forced = said(clip(item.forced, LINE), item.by)
        head = f":warning: {who(item.by)} *forced the line to start* after {took} stopped: {forced}"
        text = f"{named(item.by)} forced the line to start: {forced}"
    else:
        head = f":white_check_mark: {head}"
    blocks = [section(head)]
    if item.owed is not None:
        meeting = f" — the meeting is {when(item.meeting)}" if item.meeting else ""
        blocks.append(
            context(
                f":memo: The five whys of stoppage #{item.stoppage_id} is still owed: it lacks "
                f"{inert(item.owed)}{meeting}. `/whys` shows where it stands."
            )
        )
    return message(text, *blocks)


def status(item: LineStatus) -> Message:
    """The answer to ``/line status``: state, since when, by whom, why, and the open stoppage."""
    length = words.span(item.now - item.since)
    if item.state == LineState.RUNNING or item.stoppage is None:
        text = f"The line has been running since {words.at(item.since)} ({length})."
        return message(text, section(f":large_green_circle: {_bold(text, 'running')}"))
    stoppage = item.stoppage
    text = (
        f"The line has been stopped since {words.at(item.since)} ({length}) by "
        f"{named(stoppage.opened_by)}."
    )
    head = (
        f":red_circle: The line has been *stopped* since {when(item.since)} ({length}) "
        f"by {who(stoppage.opened_by)}."
    )
    shown = [
        section(head),
        section(_causes(stoppage)),
        context(f"Stoppage #{stoppage.id} · {_thread(stoppage)}"),
    ]
    if item.start_refusal is None:
        shown.append(actions(_start_button(stoppage.id)))
    else:  # what clears the way instead of a button that can only be refused
        shown.append(section(f":memo: {inert(item.start_refusal)}"))
    return message(text, *shown)


def stopped(item: Stopped) -> Message:
    text = (
        f"You stopped the line — stoppage #{item.stoppage.id}. The channel has been told; "
        "the five whys opens in the thread."
    )
    return message(text, section(text))


def already_stopped(item: AlreadyStopped) -> Message:
    s = item.stoppage
    text = (
        f"The line was already stopped (since {words.at(s.opened_at)} by {named(s.opened_by)}). "
        f"Your reason was added to stoppage #{s.id} as another cause."
    )
    return message(text, section(text))


def started(item: Started) -> Message:
    text = f"You started the line after {words.span(item.stopped_for)} stopped."
    return message(text, section(f":white_check_mark: {text}"))


def _causes(stoppage: StoppageView) -> str:
    lines = [
        f"• {said(clip(c.text, LINE), c.by)} — {who(c.by)}, {when(c.at)}" for c in stoppage.causes
    ]
    return listing(
        lines,
        head="*Causes*",
        more=lambda n: f"… and {n} more: `GET /api/stoppages/{stoppage.id}` lists every cause.",
    )


def _more(item: LineStopped) -> str:
    count = len(item.others)
    return f" (+{count} more cause{'s' if count > 1 else ''})" if count else ""


def _others(item: LineStopped) -> list[dict]:
    """The causes that joined after the first, as the announcement lists them: the first few,
    then how many more and where to read them all."""
    if not item.others:
        return []
    lines = [
        f"• {said(clip(c.text, QUOTED), c.by)} — {who(c.by)}, {when(c.at)}" for c in item.others
    ]
    count = len(item.others)
    shown = listing(
        lines,
        head=f":heavy_plus_sign: *+{count} more cause{'s' if count > 1 else ''}:*",
        shown=SHOWN_CAUSES,
        more=lambda n: f"… and {n} more: `/line status` and the thread list every cause.",
    )
    return [section(shown)]


def _thread(stoppage: StoppageView) -> str:
    if stoppage.thread_link:
        return link(stoppage.thread_link, "the five whys thread")
    return "the five whys thread is under its announcement in the line channel"


def _short(reason: str, by: Actor) -> str:
    return said(clip(reason, QUOTED), by)


def _start_button(stoppage_id: int) -> dict:
    sure = are_you_sure(
        "Start the line?",
        "Deploys and pushes resume. The five whys must be done or scheduled first.",
        yes="Start the line",
    )
    return button("Start the line", ActionId.LINE_START, str(stoppage_id), confirm=sure)


def _schedule_button(stoppage_id: int) -> dict:
    return button("Schedule the five whys", ActionId.WHYS_SCHEDULE, str(stoppage_id))


def _bold(text: str, word: str) -> str:
    return text.replace(word, f"*{word}*", 1)


__all__ = ["already_stopped", "notice", "started", "status", "stopped"]
