"""Does this root cause come back? Early on most analyses end in "we haven't invested in
preventing that yet" — naming the earlier stoppage makes that visible."""

import re
from collections import Counter

from sqlmodel import Session, col, select

from core.whys.item_status import ItemStatus
from storage.tables import ActionItem, WhyAnswer, Whys

_SIMILAR = 0.3
_STOP = {
    "the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "we", "it", "is", "was", "were",
    "not", "no", "that", "this", "did", "do", "had", "have", "has", "be", "been", "by", "with",
    "why", "because", "our", "its", "at", "as", "from", "yet",
}  # fmt: skip


def earlier(session: Session, stoppage_id: int) -> int | None:
    """The most recent finished analysis with the same main category and similar root words."""
    mine = _profile(session, stoppage_id)
    if mine is None:
        return None
    category, words = mine
    done = session.exec(
        select(Whys.stoppage_id)
        .where(col(Whys.done_at).is_not(None), Whys.stoppage_id != stoppage_id)
        .order_by(col(Whys.done_at).desc())
    ).all()
    for other in done:
        theirs = _profile(session, other)
        if theirs is not None and theirs[0] == category and _jaccard(words, theirs[1]) >= _SIMILAR:
            return other
    return None


def _profile(session: Session, stoppage_id: int) -> tuple[str, set[str]] | None:
    categories = [
        c
        for c in session.exec(
            select(ActionItem.category).where(
                ActionItem.stoppage_id == stoppage_id, ActionItem.status != ItemStatus.NONE.value
            )
        ).all()
        if c
    ]
    root = session.exec(
        select(WhyAnswer.text)
        .where(WhyAnswer.stoppage_id == stoppage_id)
        .order_by(col(WhyAnswer.level).desc())
    ).first()
    if not categories or root is None:
        return None
    main = Counter(categories).most_common(1)[0][0]
    return main, _words(root)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z][a-z0-9-]+", text.lower()) if w not in _STOP}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0
