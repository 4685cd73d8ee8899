"""CI's messages: a red build in the channel, a DM to the author, "fixed by" in the thread."""

from datetime import timedelta

from bot.render.kit import Message, context, message, section
from bot.render.notice import notice
from core import words
from core.ci.notices import BranchBuildFailed, BuildFailed, BuildFixed, TestFailure
from core.ci.report import BuildReport
from core.ci.status import RevisionCi
from storage.tables import CiResult

SHOWN_TESTS = 10
SECOND = timedelta(seconds=1)


@notice.register
def _(item: BuildFailed) -> Message:
    r = item.report
    head = f":x: *CI failed* on {_rev(r)} ({r.branch}) — {r.pipeline}"
    facts = [_ran(r)]
    if item.budget is not None:
        facts.append(f":hourglass: over the {words.span(item.budget)} budget")
    if r.url:
        facts.append(f"<{r.url}|the run>")
    return message(
        f"CI failed on {r.short} ({r.branch}) — {r.pipeline}",
        section(f"{head}\n{_commit(r, item.author_user)}"),
        section(_tests(item.failures)),
        context(" · ".join(f for f in facts if f)),
    )


@notice.register
def _(item: BranchBuildFailed) -> Message:
    r = item.report
    link = f" — <{r.url}|the run>" if r.url else ""
    return message(
        f"Your commit {r.short} on {r.branch} failed {r.pipeline}",
        section(
            f":x: Your commit {_rev(r)} on `{r.branch}` failed *{r.pipeline}*{link}\n{_commit(r)}"
        ),
        section(_tests(item.failures)),
    )


@notice.register
def _(item: BuildFixed) -> Message:
    r = item.report
    link = f" (<{r.url}|the run>)" if r.url else ""
    text = (
        f":white_check_mark: Fixed by {_rev(r)} — {r.pipeline} passed on `{r.branch}`{link}. "
        "The line stays stopped until someone runs `/line start`."
    )
    return message(f"Fixed by {r.short}: {r.pipeline} passed on {r.branch}", section(text))


def _rev(report: BuildReport) -> str:
    return f"`{report.short}`"


def _commit(report: BuildReport, user: str | None = None) -> str:
    who = f"<@{user}>" if user else report.author_name or report.author_email or "unknown author"
    subject = report.subject or "(no commit message)"
    return f"> {subject} — {who}"


def _ran(report: BuildReport) -> str:
    if report.duration is None:
        return ""
    return f"ran {words.span(report.duration)}" if report.duration >= SECOND else "ran under 1 s"


def _tests(failures: tuple[TestFailure, ...]) -> str:
    if not failures:
        return "No failing test was named; see the run."
    lines = [f"*Failing tests ({len(failures)})*"]
    for test in failures[:SHOWN_TESTS]:
        new = " *new*" if test.new else ""
        said = f" — {_clip(test.message)}" if test.message else ""
        lines.append(f"• `{test.name}`{new}{said}")
    if len(failures) > SHOWN_TESTS:
        lines.append(f"… and {len(failures) - SHOWN_TESTS} more")
    return "\n".join(lines)


def _clip(text: str, limit: int = 150) -> str:
    """Ten tests must fit one Block Kit section (3,000 characters). A one-line message keeps its
    start; output (several lines) keeps its end, where commands say what went wrong."""
    tail = "\n" in text.strip()
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return "…" + text[-(limit - 1) :] if tail else text[: limit - 1] + "…"


def revision(item: RevisionCi) -> Message:
    """The answer to ``/ci <rev>``: green or why not, then each pipeline's newest result."""
    found = item.verdict
    short = found.revision[:7]
    head = (
        f":large_green_circle: `{short}` is green."
        if found.green
        else f":red_circle: {found.why_not()}."
    )
    rows = [_result(r) for _p, r in sorted(found.latest.items())]
    rows += [f"• *{p}* — no result yet (required)" for p in found.missing]
    return message(
        f"{short} is green" if found.green else found.why_not(),
        section(head),
        section("\n".join(rows) or "No pipeline has reported."),
        context(f"revision {found.revision}"),
    )


def _result(row: CiResult) -> str:
    took = f" · ran {words.span(_seconds(row.duration_s))}" if row.duration_s else ""
    link = f" · <{row.url}|the run>" if row.url else ""
    failing = f" · {len(row.failed_tests)} failing" if row.failed_tests else ""
    return f"• *{row.pipeline}* — {row.status}{failing}{took}{link}"


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
