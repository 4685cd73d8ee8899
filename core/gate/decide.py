"""The commit check: may this push land? A stopped line refuses protected refs unless overridden."""

from dataclasses import dataclass
from fnmatch import fnmatchcase

from sqlmodel import Session

from core import audit, words
from core.actor import Actor
from core.audit import Outcome
from core.clock import Clock
from core.config.file import AndonConfig
from core.gate import rewrites, unchecked
from core.gate.push import Push, PushedCommit, RefUpdate
from core.gate.rules import broken_rules
from core.line import LineState, LineStatus, peek
from core.notifier import MessageRef, Notice, Notifier
from storage.tables import Stoppage

ACTION = "gate.push"  # the audit log's name for the commit check
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
        action=ACTION,
        outcome=Outcome.OK if answer.allow else Outcome.REFUSED,
        detail=" ".join(_shown_ref(u) for u in push.refs)[:500],
        message=answer.message,
    )
    return answer


def _decide(
    session: Session, *, notifier: Notifier, clock: Clock, config: AndonConfig, push: Push
) -> GateAnswer:
    guarded = [u for u in push.refs if _protected(u, config)]
    rewritten = rewrites.told(push, config=config, guarded=guarded)
    if not guarded and not rewritten:
        return GateAnswer(True, "")
    landing = push.commits_for({u.ref for u in guarded if not u.deletes})
    broken = broken_rules(
        landing, checks=config.gate.checks, override_trailer=config.gate.override_trailer
    )
    if broken:
        return GateAnswer(False, "Andon refused the push:\n" + "\n".join(f"  {b}" for b in broken))
    status = peek(session, clock=clock)
    stopped = status.state != LineState.RUNNING and status.stoppage is not None
    if not stopped or not guarded:
        rewrites.announce(notifier=notifier, push=push, updates=rewritten, stopped=stopped)
        return GateAnswer(True, _told(rewritten))
    reason = _override(landing, push, config.gate.override_trailer, guarded)
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
    rewrites.announce(notifier=notifier, push=push, updates=rewritten, stopped=True, reason=reason)
    return GateAnswer(
        True,
        f"Andon: the line is stopped; this push passes as a fix ({reason}). "
        f"Stoppage #{status.stoppage.id}'s thread has been told.",
    )


def _protected(update: RefUpdate, config: AndonConfig) -> bool:
    """``[gate] protected`` globs match as ``fnmatch`` does, with case: ``*`` spans "/" too."""
    return any(fnmatchcase(update.ref, pattern) for pattern in config.protected_refs)


def _told(rewritten: list[RefUpdate]) -> str:
    if not rewritten:
        return ""
    return f"Andon: the line channel has been told of the {_described(rewritten)}."


def _described(updates: list[RefUpdate]) -> str:
    """ "push to main, release/2; deletion of release/1": each kind once, in git's ref names."""
    kinds: dict[str, list[str]] = {}
    for update in updates:
        kind = (
            "deletion of" if update.deletes else "forced push to" if update.rewinds else "push to"
        )
        kinds.setdefault(kind, []).append(update.branch)
    return "; ".join(f"{kind} {', '.join(refs)}" for kind, refs in kinds.items())


def _override(
    landing: tuple[PushedCommit, ...], push: Push, trailer: str, guarded: list[RefUpdate]
) -> str | None:
    """The fix's reason: a ``Line-Fix:`` trailer on a commit landing on a guarded ref, or
    ``git push -o line-fix=…`` — only the latter for a deletion or a rewind, which no commit of
    the push can speak for."""
    options = push.option(OVERRIDE_OPTION)
    if any(u.rewrites for u in guarded):
        return options[0] if options else None
    for commit in landing:
        values = commit.trailer(trailer)
        if values:
            return values[0]
    return options[0] if options else None


def _stopped(status: LineStatus, guarded: list[RefUpdate], config: AndonConfig) -> str:
    stoppage = status.stoppage
    assert stoppage is not None
    lines = [
        f"Andon: the line is stopped — {_described(guarded)} refused.",
        f"  Stopped since {words.at(status.since, now=status.now)} by {stoppage.opened_by.called}: "
        f"{stoppage.reason} (stoppage #{stoppage.id}).",
    ]
    if stoppage.thread_link:
        lines.append(f"  Five whys: {stoppage.thread_link}")
    trailer = config.gate.override_trailer
    if any(u.rewrites for u in guarded):
        return "\n".join(
            [
                *lines,
                "  A deletion or a rewind takes commits off the ref; no commit can say it is the",
                f'  fix. If it is: git push -o {OVERRIDE_OPTION}="<why>"',
            ]
        )
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


def _shown_ref(update: RefUpdate) -> str:
    """As git prints it: a forced update is marked ``+``."""
    return f"{'+' if update.rewinds else ''}{update.ref} {update.old[:7]}..{update.new[:7]}"
