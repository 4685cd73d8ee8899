"""Where ``/rollback`` may go: only to a release the environment ran — its hosts still have it —
and, across migrations or to a release marked bad, only once confirmed.

Asked before anything is recorded or announced, so a rollback that cannot work is refused to the
person who asked, with what would work instead, and the channel never hears of it.
"""

from collections.abc import Callable

from sqlmodel import Session

from core.ci.verdict import verdict
from core.config.file import AndonConfig, CiConfig
from core.deploy import records
from core.deploy.source import plausible
from core.refusal import Refusal

Resolve = Callable[[str], str | Refusal]  # a revision as spelled → its sha, or why not


def target(
    session: Session,
    *,
    config: AndonConfig,
    environment: str,
    spelled: str | None,
    resolve: Resolve,
) -> str | Refusal:
    """The revision to go back to: the newest earlier release not marked bad, or the one named
    — if the environment ran it."""
    releases = records.ran(session, environment)  # one query: what runs now is among them
    current = next((row for row in releases if row.left_at is None), None)
    current_revision = current.revision if current else None
    ran = [row.revision for row in releases]
    if spelled is None:
        earlier = next(
            (row for row in releases if not row.bad and row.revision != current_revision), None
        )
        if earlier is None:
            return _nothing_earlier(environment, current_revision, ran)
        return earlier.revision
    for revision in ran:
        if plausible(spelled) and revision.startswith(spelled.lower()) and len(spelled) >= 4:
            return revision if revision != current_revision else _already(environment, revision)
    resolved = resolve(spelled)
    if isinstance(resolved, str) and resolved == current_revision:
        return _already(environment, resolved)
    if isinstance(resolved, str) and resolved not in ran:
        return _never_ran(session, config, environment, resolved, current_revision)
    return resolved


def doubt(session: Session, environment: str, revision: str) -> str | None:
    """Why a rollback to ``revision`` should be confirmed first, if it should."""
    confirm = f"`/rollback {environment} {revision[:7]} confirm`"
    release = records.release(session, environment, revision)
    if release is not None and release.bad:
        return f"{revision[:7]} is marked bad on {environment} ({release.bad_reason}). {confirm}?"
    if records.migrated_since(session, environment, revision):
        return (
            f"A deploy since {revision[:7]} ran migrations on {environment}: the code goes back, "
            f"the schema does not. {confirm} if that is safe."
        )
    return None


def _never_ran(
    session: Session, config: AndonConfig, environment: str, revision: str, current: str | None
) -> Refusal:
    short = revision[:7]
    said = [
        f"{short} never ran on {environment}, so its hosts do not have its release: a rollback "
        f"only goes back to a release {environment} ran."
    ]
    earlier = records.rollback_target(session, environment, current)
    if earlier is not None:
        said.append(
            f"`/rollback {environment}` goes back to {earlier.revision[:7]}, the newest earlier "
            "release not marked bad."
        )
    required = list((config.ci or CiConfig()).required)
    found = verdict(session, revision=revision, required=required)
    ship = f"To ship {short} itself: `/deploy {short} {environment}`"
    said.append(f"{ship}." if found.green else f"{ship} once CI passes — {found.why_not()}.")
    return Refusal(" ".join(said))


def _nothing_earlier(environment: str, current: str | None, ran: list[str]) -> Refusal:
    said = f"{environment} has no earlier release that is not marked bad"
    bad = [revision[:7] for revision in ran if revision != current]
    if bad:
        return Refusal(
            f"{said} (the earlier ones, {', '.join(bad[:5])}, are). "
            f"`/rollback {environment} <rev> confirm` goes back to one of them anyway, or "
            f"`/deploy <rev> {environment}` ships a green revision — a fix or a revert."
        )
    return Refusal(
        f"{said}: it has run nothing else. `/deploy <rev> {environment}` ships a green "
        "revision — a fix or a revert."
    )


def _already(environment: str, revision: str) -> Refusal:
    return Refusal(
        f"{environment} already runs {revision[:7]}: there is nothing to roll back to it. "
        f"`/rollback {environment}` goes back to the release before it."
    )
