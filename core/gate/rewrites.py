"""Deleting or force-rewinding a guarded ref takes history from the team: it is always told.

A deletion (``git push origin :main``) or a forced update whose new commit does not contain the
old one drops commits people may have built on; the channel hears of every one that the commit
check lets through, with the commit the ref was at, so it can be put back.
"""

from dataclasses import dataclass

from core.config.file import AndonConfig
from core.gate.push import Push, RefUpdate
from core.notifier import Notice, Notifier


@dataclass(frozen=True)
class RefsRewritten(Notice):
    """Guarded refs a push deletes or rewinds, told in the line channel."""

    pusher: str
    updates: tuple[RefUpdate, ...]
    stopped: bool  # the line was stopped: a push that restores them needs the override too
    reason: str | None = None  # the override it passed a stopped line with


def told(push: Push, *, config: AndonConfig, guarded: list[RefUpdate]) -> list[RefUpdate]:
    """The updates the channel must hear of: rewrites of a guarded ref or of the line's branch."""
    line_ref = f"refs/heads/{config.line_branch}"
    return [u for u in push.refs if u.rewrites and (u in guarded or u.ref == line_ref)]


def announce(
    *,
    notifier: Notifier,
    push: Push,
    updates: list[RefUpdate],
    stopped: bool,
    reason: str | None = None,
) -> None:
    """One message in the channel for the rewrites this push makes, if it makes any."""
    if updates:
        notifier.post(RefsRewritten(push.pusher, tuple(updates), stopped, reason))
