"""A flag's percentage moved in one environment: the rollout set and the change kept — by a
person's command, or by the watch that turns a ramp back."""

from sqlmodel import Session

from core.actor import Actor
from core.clock import Clock
from core.flags import evaluation, records
from core.flags.notices import FlagMoved
from storage.tables import Flag, FlagChange, FlagRollout


def move(
    session: Session,
    *,
    clock: Clock,
    actor: Actor,
    flag: Flag,
    place: tuple[str, int, int],
    fix: str | None = None,
) -> FlagMoved:
    """``place``: the environment, from, to. The caller holds the flag's lock."""
    environment, before, after = place
    assert flag.id is not None
    at = clock.now()
    row = records.rollout(session, flag.id, environment)
    row = row or FlagRollout(flag_id=flag.id, environment=environment)
    row.percentage, row.changed_at = after, at
    row.changed_by, row.changed_by_name, row.changed_via = actor.id, actor.name, actor.via
    session.add(row)
    session.add(
        FlagChange(
            flag_id=flag.id,
            environment=environment,
            from_percentage=before,
            to_percentage=after,
            at=at,
            actor=actor.id,
            actor_name=actor.name,
            via=actor.via,
            fix_reason=fix,
        )
    )
    evaluation.moved(session)
    return FlagMoved(flag.key, environment, before, after, actor, at, fix)
