"""The weekly digest as people read it: Slack blocks, terminal text, Markdown and JSON.

One list of sections feeds every format, so the channel, the CLI and the API never disagree.
"""

import dataclasses
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta

from bot.render.kit import Message, clip, context, header, message, section
from bot.render.mrkdwn import USER_ID, inert
from bot.render.notice import notice
from core.digest.investments import LISTED, OverdueItem
from core.digest.report import Digest, DigestNotice, WeekFigures
from core.words import counted, span

NONE = "none"
SHOWN = 10  # names in one line of figures: the noisiest, the slowest
NAME = 120  # an alert, pipeline or action item named in a line
Section = tuple[str, list[str]]
Say = Callable[[str], str]


def sections(digest: Digest, *, mentions: bool = False) -> list[Section]:
    """``mentions``: for Slack — people linked by ID, outside names (alerts, pipelines, action
    items) escaped as mrkdwn; text for a terminal or a file names them as they are."""
    now, was = digest.this, digest.before
    say: Say = _inert if mentions else _as_is
    return [
        ("Investments made", _investments(now, was, mentions=mentions, say=say)),
        ("The line", _line(now, was, say=say)),
        ("DORA", _dora(now, was)),
        ("Pages", _pages(now, was, say=say)),
        ("CI", _ci(now, was, say=say)),
    ]


def title(digest: Digest) -> str:
    first = digest.this.start.date()
    last = _last_day(digest)
    running = "" if digest.complete else ", so far"
    return f"Weekly digest — {digest.week} ({first:%b %d} – {last:%b %d}{running})"


def blocks(digest: Digest) -> Message:
    parts = [header(title(digest))]
    for name, lines in sections(digest, mentions=True):
        parts.append(section(f"*{name}*\n" + "\n".join(f"• {line}" for line in lines)))
    parts.append(context(_footnote(digest, say=_inert)))
    return message(inert(title(digest)), *parts)


def text(digest: Digest) -> str:
    out = [title(digest), ""]
    for name, lines in sections(digest):
        out.append(name)
        out += [f"  {line}" for line in lines]
        out.append("")
    out.append(_footnote(digest, say=_as_is))
    return "\n".join(out)


def markdown(digest: Digest) -> str:
    out = [f"# {title(digest)}", ""]
    for name, lines in sections(digest):
        out += [f"## {name}", "", *[f"- {line}" for line in lines], ""]
    out.append(f"_{_footnote(digest, say=_as_is)}_")
    return "\n".join(out)


def as_json(digest: Digest) -> str:
    return json.dumps(dataclasses.asdict(digest), default=_jsonable, indent=2)


@notice.register
def _posted(item: DigestNotice) -> Message:
    return blocks(item.digest)


def _footnote(digest: Digest, *, say: Say) -> str:
    where = ", ".join(say(name) for name in digest.environments) or "every environment"
    return (
        f"Changes are against {say(digest.before.week)}. DORA counts deploys to {where}. "
        f"Weeks run Monday to Sunday, {say(digest.timezone)}."
    )


def _last_day(digest: Digest) -> date:
    return (digest.this.end - timedelta(seconds=1)).date()


def _investments(now: WeekFigures, was: WeekFigures, *, mentions: bool, say: Say) -> list[str]:
    a, b = now.investments, was.investments
    declined = f"; {counted(a.declined, 'level')} answered “none”" if a.declined else ""
    return [
        f"Action items created: {_count(a.created, b.created)}; completed:"
        f" {_count(a.completed, b.completed)}{declined}",
        "By category: " + _pairs(a.by_category, say),
        "By level: " + (", ".join(f"{n} at level {lvl}" for lvl, n in a.by_level) or NONE),
        "Overdue: " + _overdue(a.overdue, a.overdue_count, mentions=mentions, say=say),
        f"Five whys: {a.whys_done} done ({_delta(a.whys_done, b.whys_done)}),"
        f" {a.whys_scheduled} scheduled, {a.whys_missing} missing",
    ]


def _line(now: WeekFigures, was: WeekFigures, *, say: Say) -> list[str]:
    a, b = now.line, was.line
    if not a.stoppages and not a.stopped_s:
        stood = f"Stoppages: {NONE} ({_delta(a.stoppages, b.stoppages)})"
        return [stood, f"Time to restart (median): {NONE}", f"Causes: {NONE}"]
    return [
        f"Stoppages: {_count(a.stoppages, b.stoppages)}; stopped"
        f" {_span(a.stopped_s, b.stopped_s)} in all; longest {_time(a.longest_s)}",
        f"Time to restart (median): {_span(a.restart_median_s, b.restart_median_s)}",
        "Causes: " + _pairs(tuple(pair for pair in a.causes if pair[1]), say),
    ]


def _dora(now: WeekFigures, was: WeekFigures) -> list[str]:
    a, b = now.dora, was.dora
    rate = (
        f"{_percent(a.change_failure_rate)} — {a.failed_changes} of {a.changes}"
        f" ({_points(a.change_failure_rate, b.change_failure_rate)})"
        if a.change_failure_rate is not None
        else NONE
    )
    return [
        "Deployment frequency: "
        + (
            f"{counted(a.deploys, 'deploy')} ({_delta(a.deploys, b.deploys)}),"
            f" {a.deploys_per_day:.1f} a day"
            if a.deploys
            else _count(0, b.deploys)
        ),
        f"Releases (flags turned on or up): {_count(now.releases, was.releases)}",
        f"Lead time for changes (median): {_span(a.lead_time_median_s, b.lead_time_median_s)}",
        f"Change failure rate: {rate}",
        f"Time to restore (median): {_span(a.restore_median_s, b.restore_median_s)}",
    ]


def _pages(now: WeekFigures, was: WeekFigures, *, say: Say) -> list[str]:
    a, b = now.pages, was.pages
    return [
        f"Pages: {_count(a.pages, b.pages)}; escalations: {_count(a.escalations, b.escalations)}",
        "Noisiest first: " + _pairs(a.by_check, say),
        f"Time to acknowledge (median): {_span(a.ack_median_s, b.ack_median_s)}",
    ]


def _ci(now: WeekFigures, was: WeekFigures, *, say: Say) -> list[str]:
    a, b = now.ci, was.ci
    if not a.runs:
        return [f"Runs: {NONE} ({_delta(a.runs, b.runs)})", f"Slowest pipelines: {NONE}"]
    budget = (
        f" against a {_time(a.budget_s)} budget, {counted(a.over_budget, 'run')} over it"
        if a.budget_s is not None
        else ""
    )
    slowest = ", ".join(f"{say(name)} {_time(s)}" for name, s in a.slowest[:SHOWN]) or NONE
    return [
        f"Pass rate: {_percent(a.pass_rate)} — {a.passed} of {counted(a.runs, 'run')}"
        f" ({_points(a.pass_rate, b.pass_rate)})",
        f"Duration (median): {_span(a.duration_median_s, b.duration_median_s)}{budget}",
        f"Slowest pipelines: {slowest}",
    ]


def _count(value: int, before: int) -> str:
    return f"{value if value else NONE} ({_delta(value, before)})"


def _delta(value: float, before: float) -> str:
    return _signed(value - before, f"{abs(value - before):g}")


def _signed(change: float, size: str) -> str:
    """Changes read the same everywhere: ``+3``, ``−3`` (a real minus), ``±0``."""
    return f"±{size}" if not change else f"{'+' if change > 0 else '−'}{size}"


def _span(value: float | None, before: float | None) -> str:
    if value is None:
        return NONE
    if before is None:
        return _time(value)
    change = value - before
    return f"{_time(value)} ({_signed(change, _time(abs(change)))})"


def _time(seconds: float | None) -> str:
    return NONE if seconds is None else span(timedelta(seconds=seconds))


def _percent(rate: float | None) -> str:
    return NONE if rate is None else f"{rate * 100:.0f}%"


def _points(rate: float | None, before: float | None) -> str:
    if rate is None or before is None:
        return "no week before to compare"
    change = round((rate - before) * 100)
    return _signed(change, f"{abs(change)} pts")


def _pairs(pairs: tuple[tuple[str, int], ...], say: Say) -> str:
    shown = ", ".join(f"{say(name)} {n}" for name, n in pairs[:SHOWN]) or NONE
    more = f", and {len(pairs) - SHOWN} more" if len(pairs) > SHOWN else ""
    return shown + more


def _overdue(items: tuple[OverdueItem, ...], count: int, *, mentions: bool, say: Say) -> str:
    if not count:
        return NONE
    shown = [
        f"{say(i.text)} ({_owner(i.owner, i.owner_name, mentions, say)}, due {i.due:%b %d})"
        f" — /actions done {i.id}"
        for i in items[:LISTED]
    ]
    more = f"; and {count - len(shown)} more" if count > len(shown) else ""
    return f"{count} — " + "; ".join(shown) + more


def _owner(owner: str | None, name: str | None, mentions: bool, say: Say) -> str:
    if mentions and owner and USER_ID.fullmatch(owner):
        return f"<@{owner}>"
    return f"@{say(name or owner or 'nobody')}"


def _inert(text: str) -> str:
    return inert(clip(text, NAME))


def _as_is(text: str) -> str:
    return text


def _jsonable(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
