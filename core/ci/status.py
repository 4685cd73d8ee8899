"""``/ci <rev>``: what every pipeline said about a revision."""

import re
from dataclasses import dataclass

from sqlmodel import Session

from core import audit
from core.actor import Actor
from core.audit import Outcome
from core.ci.verdict import Verdict, resolve, verdict
from core.clock import Clock
from core.config.file import AndonConfig, CiConfig
from core.refusal import Refusal

ACTION = "ci.status"  # the audit log's name for ``/ci <sha>``
_PREFIX = re.compile(r"^[0-9a-fA-F]{7,40}$")


@dataclass(frozen=True)
class RevisionCi:
    verdict: Verdict


def status(
    session: Session, *, clock: Clock, actor: Actor, config: AndonConfig, revision: str
) -> RevisionCi | Refusal:
    """Resolve an abbreviated revision, then give each pipeline's newest result."""
    answer = _answer(session, config=config, revision=revision.strip())
    outcome = Outcome.REFUSED if isinstance(answer, Refusal) else Outcome.OK
    audit.record(
        session,
        clock=clock,
        actor=actor,
        action=ACTION,
        outcome=outcome,
        detail=revision[:80],
        message=answer.reason if isinstance(answer, Refusal) else "",
    )
    return answer


def _answer(session: Session, *, config: AndonConfig, revision: str) -> RevisionCi | Refusal:
    if not _PREFIX.match(revision):
        return Refusal(f"`{revision[:40]}` is not a revision: give 7 to 40 hex digits of a commit.")
    matches = resolve(session, revision)
    if not matches:
        return Refusal(f"No CI result for `{revision.lower()}` yet.")
    if len(matches) > 1:
        shown = ", ".join(m[:12] for m in matches)
        return Refusal(f"`{revision}` matches several revisions ({shown}); give more digits.")
    required = list((config.ci or CiConfig()).required)
    return RevisionCi(verdict(session, revision=matches[0], required=required))
