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
_DUE = re.compile(r"\bdue\s+(?P<date>\d{4}-\d{2}-\d{2})\b", re.IGNORECASE)
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


def read(text: str, *, author: str, author_name: str, today: date) -> list[Investment]:
    """Every ``N: …`` line of a reply, in order (a reply may carry several)."""
    found = []
    for line in text.splitlines():
        match = _LINE.fullmatch(line.strip())
        if match is not None:
            found.append(
                _one(int(match["level"]), match["rest"].strip(), author, author_name, today)
            )
    return found


def _one(level: int, rest: str, author: str, author_name: str, today: date) -> Investment:
    refusal = _NONE.fullmatch(rest)
    if refusal is not None:
        return Investment(level, " ".join(refusal["why"].split()), none=True)
    if rest.lower().rstrip(":") == "none":
        raise InvestmentError(f"{level}: none needs a reason — `{level}: none: <why>`")
    owner, owner_name, rest = _owner(rest, author, author_name)
    due, rest = _due(rest, today)
    tag = _TAG.search(rest)
    category = _TAGS.get(tag["tag"].lower()) if tag else None
    if tag is not None and category is None:
        known = ", ".join(f"#{name}" for name in sorted(_TAGS))
        raise InvestmentError(f"#{tag['tag']} is not a category; use one of {known}")
    text = " ".join(_TAG.sub("", rest).split())
    if not text:
        raise InvestmentError(f"{level}: say what the investment is")
    return Investment(level, text, False, owner, owner_name, due, category or guess(text))


def _owner(rest: str, author: str, author_name: str) -> tuple[str, str, str]:
    match = _OWNER.search(rest)
    if match is None:
        return author, author_name, rest
    if match["id"]:
        owner, name = match["id"], match["name"] or match["id"]
    else:
        owner = name = match["plain"]
    return owner, name, rest[: match.start()] + rest[match.end() :]


def _due(rest: str, today: date) -> tuple[date, str]:
    match = _DUE.search(rest)
    if match is None:
        return today + timedelta(days=7), rest
    try:
        due = date.fromisoformat(match["date"])
    except ValueError:
        raise InvestmentError(f"{match['date']} is not a date; write due YYYY-MM-DD") from None
    return due, rest[: match.start()] + rest[match.end() :]


def guess(text: str) -> Category:
    """The stage of continuous deployment an action invests in: the first word that names one
    ("alert on … from CI" is alerting)."""
    for word in re.findall(r"[a-z][a-z0-9-]*", text.lower()):
        for category, hints in _WORDS:
            if word in hints:
                return category
    return Category.PROCESS
