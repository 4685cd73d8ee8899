"""A stoppage's five whys as a Markdown post-mortem: something to keep, share and read later,
outside Slack — what stopped the line, for how long, why, and what the team invested in."""

from datetime import datetime

from sqlmodel import Session

from core import stoppage as stoppages
from core import words
from core.actor import Actor
from core.clock import Clock
from core.stoppage import StoppageView
from core.whys.analysis import Analysis, Item, analysis
from core.whys.item_status import ItemStatus
from core.whys.phase import LEVELS


class UnknownStoppageError(LookupError):
    """The id names no stoppage; the message says so in a sentence."""


def markdown(session: Session, stoppage_id: int, *, clock: Clock) -> str:
    """The whole analysis in one document; ``clock`` dates the export."""
    found = stoppages.view(session, stoppage_id)
    if found is None:
        raise UnknownStoppageError(f"There is no stoppage #{stoppage_id}.")
    shown = analysis(session, stoppage_id)
    parts = [
        f"# Post-mortem: stoppage #{found.id} — {_line(found.reason or shown.cause)}",
        _facts(found, shown, clock.now()),
        _causes(found),
        _whys(shown),
        _investments(shown),
    ]
    if shown.repeat_of is not None:
        parts.append(
            f"> **A repeat.** The root cause looks like that of stoppage #{shown.repeat_of}: "
            "the same kind of cause came back. Was its investment enough?"
        )
    parts.append(f"_Exported by Andon at {words.at(clock.now())}._")
    return "\n\n".join(parts) + "\n"


def _facts(found: StoppageView, shown: Analysis, now: datetime) -> str:
    rows = [("Opened", f"{words.at(found.opened_at)} by {_who(found.opened_by)}")]
    if found.closed_at is not None:
        by = f" by {_who(found.closed_by)}" if found.closed_by else ""
        rows.append(("Closed", f"{words.at(found.closed_at)}{by}"))
        rows.append(("Stopped for", words.span(found.closed_at - found.opened_at)))
    else:
        rows.append(("Closed", "not yet — the line is still stopped"))
        rows.append(("Stopped for", f"{words.span(now - found.opened_at)} so far"))
    rows.append(("Severity", f"{shown.severity} — {shown.severity.budget}"))
    rows.append(("Five whys", _progress(shown)))
    table = ["| | |", "|---|---|"]
    table += [f"| {name} | {_cell(value)} |" for name, value in rows]
    return "\n".join(table)


def _progress(shown: Analysis) -> str:
    if shown.done and shown.done_at is not None:
        return f"done {words.at(shown.done_at)}"
    if shown.scheduled_at is not None:
        return f"meeting scheduled for {words.at(shown.scheduled_at)}; lacks {shown.missing()}"
    return f"in progress; lacks {shown.missing()}"


def _causes(found: StoppageView) -> str:
    lines = [
        f"- {words.at(cause.at)} — {_who(cause.by)}: {_line(cause.text)}" for cause in found.causes
    ]
    return "## Causes\n\n" + ("\n".join(lines) or "None recorded.")


def _whys(shown: Analysis) -> str:
    answers = {answer.level: answer for answer in shown.answers}
    lines = []
    for level in range(1, LEVELS + 1):
        answer = answers.get(level)
        if answer is None:
            lines.append(f"{level}. **{shown.question(level)}**  \n   _Not answered._")
            continue
        edited = f", edited {words.at(answer.edited_at)}" if answer.edited_at else ""
        lines.append(
            f"{level}. **{shown.question(level)}**  \n   {_line(answer.text)} — "
            f"{answer.by_name or answer.by}, {words.at(answer.at)}{edited}"
        )
    return "## The five whys\n\n" + "\n".join(lines)


def _investments(shown: Analysis) -> str:
    if not shown.items:
        return "## Investments\n\nNone recorded yet."
    table = [
        "| Level | Action | Owner | Due | Category | Status |",
        "|---|---|---|---|---|---|",
    ]
    table += [_investment(item) for item in shown.items]
    return "## Investments\n\n" + "\n".join(table)


def _investment(item: Item) -> str:
    if item.status == ItemStatus.NONE:
        cells = [str(item.level), f"none: {item.text}", "—", "—", "—", "none"]
    else:
        owner = item.owner_name or item.owner or "—"
        cells = [str(item.level), item.text, owner, item.due or "—", item.category or "—"]
        cells.append(item.status)
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _who(actor: Actor | None) -> str:
    if actor is None:
        return "someone"
    return f"{actor.name} ({actor.via})" if actor.via != "slack" else actor.name


def _line(text: str) -> str:
    """Markdown sees one line: a newline in a cause or an answer would break a list item."""
    return " ".join(text.split())


def _cell(text: str) -> str:
    return _line(text).replace("|", "\\|")
