"""Is a revision green? Only when every required pipeline's latest result for it passed."""

from dataclasses import dataclass

from sqlmodel import Session, col, select

from core.ci.report import BuildStatus
from storage.tables import CiResult


@dataclass(frozen=True)
class Verdict:
    revision: str
    latest: dict[str, CiResult]  # pipeline → its newest result for this revision
    missing: tuple[str, ...]  # required pipelines that have not reported

    @property
    def green(self) -> bool:
        return (
            bool(self.latest)
            and not self.missing
            and all(r.status == BuildStatus.PASSED for r in self.latest.values())
        )

    def why_not(self) -> str:
        """``3f2a9c1 has no passing CI result yet (tests: running, lint: no result)``."""
        short = self.revision[:7]
        if not self.latest and not self.missing:
            return f"{short} has no CI result yet"
        states = [f"{p}: {r.status}" for p, r in sorted(self.latest.items())]
        states += [f"{p}: no result" for p in self.missing]
        failed = any(r.status == BuildStatus.FAILED for r in self.latest.values())
        head = f"{short} failed CI" if failed else f"{short} has no passing CI result yet"
        return f"{head} ({', '.join(states)})"


def verdict(session: Session, *, revision: str, required: list[str]) -> Verdict:
    """With no pipeline required, every pipeline that reported for the revision counts."""
    rows = session.exec(
        select(CiResult).where(CiResult.revision == revision).order_by(col(CiResult.id))
    ).all()
    latest: dict[str, CiResult] = {}
    for row in rows:
        latest[row.pipeline] = row
    if required:
        latest = {p: r for p, r in latest.items() if p in required}
    missing = tuple(p for p in required if p not in latest)
    return Verdict(revision, latest, missing)


def resolve(session: Session, prefix: str) -> list[str]:
    """The full revisions with CI results that start with ``prefix`` (7 to 40 hex digits)."""
    prefix = prefix.lower()
    query = (
        select(CiResult.revision)
        .where(col(CiResult.revision).startswith(prefix, autoescape=True))
        .distinct()
        .limit(5)
    )
    return list(session.exec(query))
