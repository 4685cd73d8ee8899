"""CI's messages: a red build in the channel, a DM to the author, "fixed by" in the thread."""

from datetime import timedelta

from bot.render.kit import Message, clip, context, listing, message, section
from bot.render.mrkdwn import inert, link, mention
from bot.render.notice import notice
from core import words
from core.ci.notices import BranchBuildFailed, BuildFailed, BuildFixed, TestFailure
from core.ci.report import BuildReport
from core.ci.status import RevisionCi
from storage.tables import CiResult

SHOWN_TESTS = 10
FAILING_SECTIONS = 10  # /ci: one section of failing tests per pipeline
NAME = 100  # a branch, pipeline or author
SUBJECT = 300
TEST_NAME = 200
SECOND = timedelta(seconds=1)


@notice.register
def _(item: BuildFailed) -> Message:
    r = item.report
    head = f":x: *CI failed* on {_rev(r)} ({_name(r.branch)}) — {_pipeline(r)}"
    facts = [_ran(r)]
    if not item.stops_line:
        facts.append(_keeps_running(r))
    if item.budget is not None:
        facts.append(f":hourglass: over the {words.span(item.budget)} budget")
    if r.url:
        facts.append(link(r.url, "the run"))
    return message(
        f"CI failed on {r.short} ({_name(r.branch)}) — {_pipeline(r)}",
        section(f"{head}\n{_commit(r, item.author_user)}"),
        section(_tests(item.failures, r)),
        *([context(" · ".join(f for f in facts if f))] if any(facts) else []),
    )


@notice.register
def _(item: BranchBuildFailed) -> Message:
    r = item.report
    run = f" — {link(r.url, 'the run')}" if r.url else ""
    return message(
        f"Your commit {r.short} on {_name(r.branch)} failed {_pipeline(r)}",
        section(
            f":x: Your commit {_rev(r)} on `{_name(r.branch)}` failed *{_pipeline(r)}*{run}\n"
            f"{_commit(r)}"
        ),
        section(_tests(item.failures, r)),
    )


@notice.register
def _(item: BuildFixed) -> Message:
    r = item.report
    run = f" ({link(r.url, 'the run')})" if r.url else ""
    text = (
        f":white_check_mark: Fixed by {_rev(r)} — {_pipeline(r)} passed on "
        f"`{_name(r.branch)}`{run}. The line stays stopped until someone runs `/line start`."
    )
    return message(f"Fixed by {r.short}: {_pipeline(r)} passed on {_name(r.branch)}", section(text))


def _rev(report: BuildReport) -> str:
    return f"`{report.short}`"


def _name(text: str | None) -> str:
    """Branches and pipelines are named by the CI's sender: shown, never read as markup."""
    return inert(clip(text or "", NAME))


def _pipeline(report: BuildReport) -> str:
    """The pipeline, with the CI's own name for this run (GitLab's ``workflow:name``) beside it."""
    label = f" ({_name(report.label)})" if report.label and report.label != report.pipeline else ""
    return f"{_name(report.pipeline)}{label}"


def _keeps_running(report: BuildReport) -> str:
    if report.infrastructure:
        return (
            "the CI failed for its own reasons: the line keeps running (`infra_failures_stop_line`)"
        )
    return "the line keeps running (`stop_line_on_failure = false`)"


def _commit(report: BuildReport, user: str | None = None) -> str:
    author = report.author_name or report.author_email or "unknown author"
    who = mention(user) if user else inert(clip(author, NAME))
    subject = inert(clip(report.subject or "", SUBJECT)) or "(no commit message)"
    return f"> {subject} — {who}"


def _ran(report: BuildReport) -> str:
    if report.duration is None:
        return ""
    return f"ran {words.span(report.duration)}" if report.duration >= SECOND else "ran under 1 s"


def _tests(failures: tuple[TestFailure, ...], report: BuildReport) -> str:
    if not failures:
        return "No failing test was named; see the run."
    lines = []
    for test in failures:
        new = " *new*" if test.new else ""
        said = f" — {inert(_said(test.message))}" if test.message else ""
        lines.append(f"• `{inert(clip(test.name, TEST_NAME))}`{new}{said}")
    return listing(
        lines,
        head=f"*Failing tests ({len(failures)})*",
        shown=SHOWN_TESTS,
        more=lambda n: f"… and {n} more: `/ci {report.short}` lists them all.",
    )


def _said(text: str, limit: int = 150) -> str:
    """A one-line message keeps its start; output (several lines) keeps its end, where commands
    say what went wrong."""
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
        else f":red_circle: {inert(found.why_not())}."
    )
    rows = [_result(r) for _p, r in sorted(found.latest.items())]
    rows += [f"• *{_name(p)}* — no result yet (required)" for p in found.missing]
    blocks = [
        section(head),
        section(listing(rows, more=_more_pipelines) or "No pipeline has reported."),
    ]
    failing = [_failing(r) for _p, r in sorted(found.latest.items()) if r.failed_tests]
    blocks += failing[:FAILING_SECTIONS]
    blocks.append(context(f"revision {found.revision}"))
    return message(f"{short} is green" if found.green else inert(found.why_not()), *blocks)


def _result(row: CiResult) -> str:
    took = f" · ran {words.span(_seconds(row.duration_s))}" if row.duration_s else ""
    run = f" · {link(row.url, 'the run')}" if row.url else ""
    failing = f" · {len(row.failed_tests)} failing" if row.failed_tests else ""
    label = f" ({_name(row.label)})" if row.label and row.label != row.pipeline else ""
    return f"• *{_name(row.pipeline)}*{label} — {_name(row.status)}{failing}{took}{run}"


def _failing(row: CiResult) -> dict:
    """``/ci`` is where "… and N more" sends people: it names as many failing tests as fit."""
    names = [f"• `{inert(clip(str(t.get('name', '')), TEST_NAME))}`" for t in row.failed_tests]
    text = listing(
        names,
        head=f"*{_name(row.pipeline)}: failing tests ({len(names)})*",
        more=lambda n: f"… and {n} more — the run has them all.",
    )
    return section(text)


def _more_pipelines(count: int) -> str:
    return f"… and {count} more pipelines."


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
