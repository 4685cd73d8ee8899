"""A flag ramp under watch: one message in the line channel, updated as the watch goes — the
baseline read, the ramp made and watched, then held or turned back — and the answer to the
person who asked."""

from bot.render.kit import Message, message, plain, section
from bot.render.mrkdwn import inert, who
from bot.render.notice import notice
from core import words
from core.flags.commands import Watching
from core.flags.notices import FlagWatched, WatchShown

MARKS = {
    "pending": ":eyes:",
    "watching": ":eyes:",
    "held": ":white_check_mark:",
    "turned_back": ":rotating_light:",
}


@notice.register
def _(item: FlagWatched) -> Message:
    watch = item.watch
    text = f"{MARKS.get(watch.state, ':warning:')} {_said(watch)}"
    return message(plain(text), section(text))


def watching(result: Watching) -> Message:
    """The answer, at once: the ramp is made once the baseline is read."""
    watch = result.watch
    text = (
        f":eyes: `{inert(watch.key)}` goes {watch.before}% → {watch.after}% in "
        f"*{inert(watch.environment)}* once the baseline of {_metrics(watch)} is read, then it "
        f"is watched for {words.span(watch.watch_for)} — the channel's message follows it."
    )
    return message(plain(text), section(text))


def _said(watch: WatchShown) -> str:
    ramp = f"`{inert(watch.key)}` {watch.before}% → {watch.after}% in *{inert(watch.environment)}*"
    span = words.span(watch.watch_for)
    match watch.state:
        case "pending":
            return f"{who(watch.by)} ramps {ramp}: reading the baseline of {_metrics(watch)} first"
        case "watching":
            return (
                f"{who(watch.by)} ramped {ramp} — watching {_metrics(watch)} for {span}; "
                f"if it gets worse, Andon turns it back to {watch.before}%"
            )
        case "held":
            return f"{who(watch.by)} ramped {ramp} — watched {_metrics(watch)} for {span}: held"
        case "turned_back":
            return f"{inert(watch.verdict or '')} — the line is stopped and on-call is paged"
    return f"{who(watch.by)}'s ramp of {ramp}: {inert(watch.verdict or watch.state)}"


def _metrics(watch: WatchShown) -> str:
    return " and ".join(f"*{inert(name)}*" for name in watch.metrics)
