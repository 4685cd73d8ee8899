"""The mechanical standards of ``[[gate.checks]]``: each off until configured, each named."""

import re
from fnmatch import fnmatch

from core.config.file import GateCheck
from core.gate.push import PushedCommit

FIX_TRAILERS = ("Fixes",)


def broken_rules(
    commits: tuple[PushedCommit, ...], *, checks: list[GateCheck], override_trailer: str
) -> list[str]:
    """One sentence per commit and rule it breaks, naming both."""
    found = []
    for index, check in enumerate(checks):
        name = check.name or f"gate.checks[{index}]"
        for commit in commits:
            problem = _breaks(commit, check, override_trailer)
            if problem:
                found.append(
                    f'commit {commit.short} ("{commit.subject[:60]}") breaks rule '
                    f"'{name}': {problem}"
                )
    return found


def _breaks(commit: PushedCommit, check: GateCheck, override_trailer: str) -> str | None:
    if check.subject_regex and not re.search(check.subject_regex, commit.subject):
        return f"its subject must match {check.subject_regex!r}"
    if check.max_subject_length and len(commit.subject) > check.max_subject_length:
        return (
            f"its subject is {len(commit.subject)} characters; the most is "
            f"{check.max_subject_length}"
        )
    for path in commit.paths:
        for pattern in check.forbidden_paths:
            if fnmatch(path, pattern) or fnmatch(path.rsplit("/", 1)[-1], pattern):
                return f"it touches {path}, and {pattern!r} is forbidden"
    says_fix = any(commit.trailer(key) for key in (*FIX_TRAILERS, override_trailer))
    if check.fix_needs_test_paths and says_fix and not _touches(commit, check.fix_needs_test_paths):
        wanted = ", ".join(check.fix_needs_test_paths)
        return f"it says it fixes a bug but adds or changes no test (under {wanted})"
    return None


def _touches(commit: PushedCommit, roots: list[str]) -> bool:
    return any(
        fnmatch(path, root) or path.startswith(root.rstrip("/") + "/")
        for path in commit.paths
        for root in roots
    )
