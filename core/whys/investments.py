"""An investment as people write it in the thread:

    3: add a smoke test for sign-up <@U123> due 2026-12-04 #tests
    4: none: the deploy did exactly what it should

Owner defaults to the author, due date to a week; the category is guessed from the words,
unless a tag says it.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class Category(StrEnum):
    TESTS = "tests/CI"
    COMMIT = "commit check"
    DEPLOY = "deploy"
    ALERTING = "alerting"
    PROCESS = "code & process"


_TAGS = {
    "tests": Category.TESTS,
    "ci": Category.TESTS,
    "test": Category.TESTS,
    "commit": Category.COMMIT,
    "gate": Category.COMMIT,
    "review": Category.COMMIT,
    "deploy": Category.DEPLOY,
    "alerting": Category.ALERTING,
    "alerts": Category.ALERTING,
    "monitoring": Category.ALERTING,
    "code": Category.PROCESS,
    "process": Category.PROCESS,
}
_WORDS = (
    (Category.TESTS, ("test", "tests", "ci", "coverage", "flaky", "unit", "integration", "e2e")),
    (Category.COMMIT, ("hook", "lint", "review", "commit", "push", "gate", "pr", "checklist")),
    (Category.DEPLOY, ("deploy", "rollback", "canary", "release", "migration", "rollout")),
    (
        Category.ALERTING,
        ("alert", "alerts", "monitor", "monitoring", "page", "metric", "dashboard"),
    ),
)
_LINE = re.compile(r"\s*(?P<level>[1-5])\s*[:.)]\s*(?P<rest>.+)", re.DOTALL)
_OWNER = re.compile(r"<@(?P<id>[UW][A-Z0-9]+)(?:\|(?P<name>[^>]*))?>|@(?P<plain>[\w.-]+)")
_DUE = re.compile(r"\bdue\s+(?P<when>in\s+\d+\s*[a-z]+|\S+)", re.IGNORECASE)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_IN = re.compile(r"in\s+(?P<count>\d+)\s*(?P<unit>d|days?|w|weeks?)", re.IGNORECASE)
DUE_HINT = "`due fri`, `due tomorrow`, `due in 2w` or `due 2026-12-04`"
_TAG = re.compile(r"(?<![\w<])#(?P<tag>[a-z]+)\b", re.IGNORECASE)
_NONE = re.compile(r"none\s*[:\-—]\s*(?P<why>.+)", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Investment:
    level: int
    text: str
    none: bool = False  # a level answered on purpose with nothing to do
    owner: str | None = None
    owner_name: str | None = None
    due: date | None = None
    category: Category | None = None


class InvestmentError(ValueError):
    """A line that looks like an investment but cannot be one; the message says why."""


def read(
    text: str, *, author: str, author_name: str, today: date, mentions: bool = False
) -> list[Investment]:
    """Every ``N: …`` line of a reply, in order (a reply may carry several). ``mentions``: the
    author wrote in Slack, where a person is a mention — a plain ``@bob`` is nobody Andon can
    tell, so it asks rather than store a stranger."""
    found = []
    for line in text.splitlines():
        match = _LINE.fullmatch(line.strip())
        if match is not None:
            rest = match["rest"].strip()
            found.append(_one(int(match["level"]), rest, author, author_name, today, mentions))
    return found


def _one(
    level: int, rest: str, author: str, author_name: str, today: date, mentions: bool
) -> Investment:
    refusal = _NONE.fullmatch(rest)
    if refusal is not None:
        return Investment(level, " ".join(refusal["why"].split()), none=True)
    if rest.lower().rstrip(":") == "none":
        raise InvestmentError(f"{level}: none needs a reason — `{level}: none: <why>`")
    owner, owner_name, rest, plain = _owner(rest, author, author_name)
    if mentions and plain:
        raise InvestmentError(
            f"Level {level}: who is @{owner}? Mention the owner with @ and pick them from "
            "Slack's list, so Andon can tell them — nothing was recorded yet."
        )
    due, rest = _due(rest, today, level)
    tag = _TAG.search(rest)
    category = _TAGS.get(tag["tag"].lower()) if tag else None
    if tag is not None and category is None:
        known = ", ".join(f"#{name}" for name in sorted(_TAGS))
        raise InvestmentError(f"#{tag['tag']} is not a category; use one of {known}")
    text = " ".join(_TAG.sub("", rest).split())
    if not text:
        raise InvestmentError(f"{level}: say what the investment is")
    return Investment(level, text, False, owner, owner_name, due, category or guess(text))


def _owner(rest: str, author: str, author_name: str) -> tuple[str, str, str, bool]:
    """The owner, their name, the text without them, and whether they were a plain ``@name``."""
    match = _OWNER.search(rest)
    if match is None:
        return author, author_name, rest, False
    left = rest[: match.start()] + rest[match.end() :]
    if match["id"]:
        return match["id"], match["name"] or match["id"], left, False
    return match["plain"], match["plain"], left, True


def _due(rest: str, today: date, level: int) -> tuple[date, str]:
    """The due date and the text without it; a week from today when none is said. A date in
    the past or one Andon cannot read is asked about, never stored or left in the title."""
    match = _DUE.search(rest)
    if match is None:
        return today + timedelta(days=7), rest
    when = match["when"].rstrip(".,;")
    due = _day(when.lower(), today)
    if due is None:
        raise InvestmentError(
            f"Level {level}: Andon could not read “due {when}” — write {DUE_HINT}."
        )
    if due < today:
        raise InvestmentError(
            f"Level {level}: due {due.isoformat()} is in the past — when will it be done? "
            f"Write {DUE_HINT}."
        )
    return due, rest[: match.start()] + rest[match.end() :]


def _day(when: str, today: date) -> date | None:
    if when in ("today", "tomorrow", "yesterday"):
        return today + timedelta(days={"today": 0, "tomorrow": 1, "yesterday": -1}[when])
    if when[:3] in _DAYS and when.isalpha():
        return today + timedelta(days=(_DAYS.index(when[:3]) - today.weekday()) % 7)
    later = _IN.fullmatch(when)
    if later is not None:
        days = int(later["count"]) * (7 if later["unit"].startswith("w") else 1)
        return today + timedelta(days=days)
    try:
        return date.fromisoformat(when)
    except ValueError:
        return None


def guess(text: str) -> Category:
    """The stage of continuous deployment an action invests in: the first word that names one
    ("alert on … from CI" is alerting)."""
    for word in re.findall(r"[a-z][a-z0-9-]*", text.lower()):
        for category, hints in _WORDS:
            if word in hints:
                return category
    return Category.PROCESS
