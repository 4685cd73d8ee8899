"""The commit check: may this push land? A stopped line refuses protected refs unless overridden."""

from dataclasses import dataclass
from fnmatch import fnmatch

from sqlmodel import Session

from core import audit, words
from core.actor import Actor
from core.audit import Outcome
from core.clock import Clock
from core.config import AndonConfig
from core.gate import unchecked
from core.gate.push import Push, PushedCommit, RefUpdate
from core.gate.rules import broken_rules
from core.line import LineState, LineStatus, peek
from core.notifier import MessageRef, Notice, Notifier
from storage.tables import Stoppage

OVERRIDE_OPTION = "line-fix"


@dataclass(frozen=True)
class GateAnswer:
    allow: bool
    message: str


@dataclass(frozen=True)
class LineOverridden(Notice):
    """A push that passed a stopped line, told in the stoppage's thread."""

    stoppage_id: int
    pusher: str
    refs: tuple[str, ...]
    commits: tuple[tuple[str, str], ...]  # (short sha, subject)
    reason: str


def check(
    session: Session, *, notifier: Notifier, clock: Clock, config: AndonConfig, push: Push
) -> GateAnswer:
    """Decide, say why in words the pusher reads in their terminal, and audit the decision;
    pushes an earlier hook let through unchecked are told in the channel first."""
    if push.unchecked:
        unchecked.announce(session, notifier=notifier, clock=clock, pushes=push.unchecked)
    answer = _decide(session, notifier=notifier, clock=clock, config=config, push=push)
    audit.record(
        session,
        clock=clock,
        actor=Actor(push.pusher, push.pusher, "git"),
        action="gate.push",
        outcome=Outcome.OK if answer.allow else Outcome.REFUSED,
        detail=" ".join(f"{u.ref} {u.old[:7]}..{u.new[:7]}" for u in push.refs)[:500],
        message=answer.message,
    )
    return answer


def _decide(
    session: Session, *, notifier: Notifier, clock: Clock, config: AndonConfig, push: Push
) -> GateAnswer:
    guarded = [u for u in push.refs if not u.deletes and _protected(u, config)]
    if not guarded:
        return GateAnswer(True, "")
    landing = push.commits_for({u.ref for u in guarded})
    broken = broken_rules(
        landing, checks=config.gate.checks, override_trailer=config.gate.override_trailer
    )
    if broken:
        return GateAnswer(False, "Andon refused the push:\n" + "\n".join(f"  {b}" for b in broken))
    status = peek(session, clock=clock)
    if status.state == LineState.RUNNING or status.stoppage is None:
        return GateAnswer(True, "")
    reason = _override(landing, push, config.gate.override_trailer)
    if reason is None:
        return GateAnswer(False, _stopped(status, guarded, config))
    _announce(
        session,
        notifier=notifier,
        status=status,
        push=push,
        guarded=guarded,
        reason=reason,
        landing=landing,
    )
    return GateAnswer(
        True,
        f"Andon: the line is stopped; this push passes as a fix ({reason}). "
        f"Stoppage #{status.stoppage.id}'s thread has been told.",
    )


def _protected(update: RefUpdate, config: AndonConfig) -> bool:
    return any(fnmatch(update.ref, pattern) for pattern in config.protected_refs)


def _override(landing: tuple[PushedCommit, ...], push: Push, trailer: str) -> str | None:
    """The fix's reason: a ``Line-Fix:`` trailer on a commit landing on a guarded ref, or
    ``git push -o line-fix=…``."""
    for commit in landing:
        values = commit.trailer(trailer)
        if values:
            return values[0]
    options = push.option(OVERRIDE_OPTION)
    return options[0] if options else None


def _stopped(status: LineStatus, guarded: list[RefUpdate], config: AndonConfig) -> str:
    stoppage = status.stoppage
    assert stoppage is not None
    branches = ", ".join(u.branch for u in guarded)
    lines = [
        f"Andon: the line is stopped — push to {branches} refused.",
        f"  Stopped since {words.at(status.since, now=status.now)} by {stoppage.opened_by.called}: "
        f"{stoppage.reason} (stoppage #{stoppage.id}).",
    ]
    if stoppage.thread_link:
        lines.append(f"  Five whys: {stoppage.thread_link}")
    trailer = config.gate.override_trailer
    lines += [
        f'  A push that fixes it may pass: add the trailer "{trailer}: <why>" to a commit,',
        f'  or push with: git push -o {OVERRIDE_OPTION}="<why>"',
    ]
    return "\n".join(lines)


def _announce(
    session: Session,
    *,
    notifier: Notifier,
    status: LineStatus,
    push: Push,
    guarded: list[RefUpdate],
    reason: str,
    landing: tuple[PushedCommit, ...],
) -> None:
    assert status.stoppage is not None
    stoppage = session.get(Stoppage, status.stoppage.id)
    if stoppage is None or stoppage.thread_id is None:
        return
    notifier.reply(
        MessageRef(stoppage.thread_id),
        LineOverridden(
            stoppage_id=status.stoppage.id,
            pusher=push.pusher,
            refs=tuple(u.branch for u in guarded),
            commits=tuple(_shown(c) for c in landing[:20]),
            reason=reason,
        ),
    )


def _shown(commit: PushedCommit) -> tuple[str, str]:
    return commit.short, commit.subject
