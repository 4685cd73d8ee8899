"""A push as the git hook describes it: the refs it moves and the commits it brings."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.gate.refs import ZERO, BadPushError, check_update


@dataclass(frozen=True)
class RefUpdate:
    old: str
    new: str
    ref: str
    # ``new`` does not descend from ``old`` (git's "forced update"); None: the hook did not say.
    forced: bool | None = None

    def __post_init__(self) -> None:
        check_update(self.old, self.new, self.ref)

    @property
    def deletes(self) -> bool:
        return self.new == ZERO

    @property
    def rewinds(self) -> bool:
        """A forced update: commits that were on the ref are no longer on it."""
        return bool(self.forced) and self.old != ZERO and self.new != ZERO

    @property
    def rewrites(self) -> bool:
        """A deletion or a rewind: history the ref held is taken from it."""
        return (self.deletes and self.old != ZERO) or self.rewinds

    @property
    def branch(self) -> str:
        return self.ref.removeprefix("refs/heads/")


@dataclass(frozen=True)
class PushedCommit:
    sha: str
    subject: str
    author: str = ""
    trailers: Mapping[str, Sequence[str]] = field(default_factory=dict)
    paths: tuple[str, ...] = ()
    refs: tuple[str, ...] = ()  # the refs it arrives with; empty: unknown, so every ref

    @property
    def short(self) -> str:
        return self.sha[:7]

    def trailer(self, key: str) -> list[str]:
        """A git trailer's non-empty values; keys compare without case, as git's do."""
        found: list[str] = []
        for name, values in self.trailers.items():
            if name.lower() == key.lower():
                items = [values] if isinstance(values, str) else list(values)
                found += [v.strip() for v in items if v.strip()]
        return found


@dataclass(frozen=True)
class UncheckedPush:
    """A push an earlier hook let through unchecked (``fail_open``), sent along with this one."""

    id: str
    at: datetime
    pusher: str
    refs: tuple[RefUpdate, ...]
    reason: str


@dataclass(frozen=True)
class Push:
    refs: tuple[RefUpdate, ...]
    commits: tuple[PushedCommit, ...] = ()
    push_options: tuple[str, ...] = ()
    pusher: str = "unknown"
    unchecked: tuple[UncheckedPush, ...] = ()

    def commits_for(self, refs: set[str]) -> tuple[PushedCommit, ...]:
        """The commits that land on these refs: a fix for another branch is not a fix here."""
        return tuple(c for c in self.commits if not c.refs or refs.intersection(c.refs))

    def option(self, key: str) -> list[str]:
        """``git push -o key=value`` values, non-empty ones only."""
        values = []
        for option in self.push_options:
            name, sep, value = option.partition("=")
            if sep and name.strip().lower() == key and value.strip().strip('"').strip():
                values.append(value.strip().strip('"').strip())
        return values


def read(body: Mapping[str, Any]) -> Push:
    """The push from ``POST /api/gate``'s body — the one reader of it, for the HTTP door and the
    hook's own database path alike, so a commit's ``refs`` count the same way on both."""
    return Push(
        refs=tuple(_ref(r) for r in body["refs"]),
        commits=tuple(
            PushedCommit(
                sha=c["sha"],
                subject=c.get("subject", ""),
                author=c.get("author", ""),
                trailers={
                    k: [v] if isinstance(v, str) else list(v)
                    for k, v in c.get("trailers", {}).items()
                },
                paths=tuple(c.get("paths", ())),
                refs=tuple(c.get("refs", ())),
            )
            for c in body.get("commits", ())
        ),
        push_options=tuple(body.get("push_options", ())),
        pusher=body.get("pusher", "unknown"),
        unchecked=tuple(_unchecked(u) for u in body.get("unchecked", ())),
    )


def _ref(update: Mapping[str, Any]) -> RefUpdate:
    forced = update.get("forced")
    if forced is not None and not isinstance(forced, bool):
        raise BadPushError("forced", f"{str(forced)[:60]!r} is not true or false")
    return RefUpdate(update["old"], update["new"], update["ref"], forced)


def _unchecked(entry: Mapping[str, Any]) -> UncheckedPush:
    at = entry["at"]
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at)
        except ValueError:
            raise BadPushError("unchecked.at", f"{at[:40]!r} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return UncheckedPush(
        id=entry["id"],
        at=at,
        pusher=entry["pusher"],
        refs=tuple(_ref(r) for r in entry["refs"]),
        reason=entry["reason"],
    )
