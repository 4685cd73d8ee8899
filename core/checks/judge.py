"""When a check pages: out of bounds for ``for`` long it fires once; back within, it resolves once.

Two phases, so that no network call runs inside a database transaction: ``due`` claims the checks
to run in one short transaction, the caller reads them outside any, and ``judge`` records each
reading in its own. A reading that failed counts as out of bounds.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from core import audit, words
from core.actor import Actor
from core.alerts.event import AlertEvent, AlertStatus
from core.audit import Outcome
from core.checks.readings import CheckError, Reading, beyond, public_url
from core.clock import Clock
from core.config.alerts import Check
from storage.tables import CheckState

SOURCE = "check"
SHOW_ACTION = "checks"  # the audit log's name for ``/checks``


class CheckHealth(StrEnum):
    OK = "ok"
    OUT = "out of bounds"
    ERROR = "error"
    FIRING = "firing"
    NOT_RUN = "not run yet"


@dataclass(frozen=True)
class CheckView:
    """One check as ``/checks`` shows it."""

    name: str
    reads: str  # what it looks at, as people would name it
    bounds: str  # "min 10", "max 90", "min 10, max 90"
    value: str | None  # the last value read, formatted; None before the first or after an error
    checked_at: datetime | None
    health: CheckHealth
    state: str  # "ok", "out of bounds since 14:02 UTC", "firing", "error: …", "not run yet"
    error: str | None = None  # why the last reading failed, also while it fires


def due(session: Session, *, checks: Sequence[Check], clock: Clock) -> list[Check]:
    """The checks to run now, each claimed until its next turn so that no other replica runs it."""
    now = clock.now()
    _ensure_rows(session, [check.name for check in checks])
    return [check for check in checks if _claim(session, check, now)]


def judge(
    session: Session, *, check: Check, reading: Reading | CheckError, clock: Clock
) -> AlertEvent | None:
    """Record one reading; returns the event to send when the check starts or stops firing."""
    now = clock.now()
    state = _state(session, check.name)
    state.checked_at = now
    if isinstance(reading, Reading):
        state.value, state.error = reading.value, None
    else:
        state.value, state.error = None, str(reading)
    event = _settle(check, state, reading, now)
    session.add(state)
    return event


def retract(session: Session, *, events: Sequence[AlertEvent]) -> None:
    """Events that could not be recorded are sent again on the check's next run, not never."""
    for event in events:
        state = session.get(CheckState, event.key)
        if state is not None and event.source == SOURCE:
            state.firing = event.status != AlertStatus.FIRING
            session.add(state)


def shown(
    session: Session, *, checks: Sequence[Check], clock: Clock, actor: Actor
) -> list[CheckView]:
    """``/checks``: a command like any other, so it is audited."""
    audit.record(session, clock=clock, actor=actor, action=SHOW_ACTION, outcome=Outcome.OK)
    return overview(session, checks=checks, clock=clock)


def overview(session: Session, *, checks: Sequence[Check], clock: Clock) -> list[CheckView]:
    """Every configured check and how it stands, in the order andon.toml lists them."""
    names = [check.name for check in checks]
    rows = session.exec(select(CheckState).where(col(CheckState.name).in_(names))).all()
    states = {row.name: row for row in rows}
    now = clock.now()
    return [_view(check, states.get(check.name), now) for check in checks]


def number(value: float) -> str:
    """``2``, ``93.1``, ``0.00123``, ``1234.5``: as many digits as people read, no more."""
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.3g}"


# --- claiming ------------------------------------------------------------------------------


def _ensure_rows(session: Session, names: list[str]) -> None:
    """A row per check, so the claim is one conditional UPDATE; replicas may race to insert it."""
    if not names:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [{"name": name, "firing": False} for name in names]
    session.execute(insert(CheckState).values(rows).on_conflict_do_nothing())


def _claim(session: Session, check: Check, now: datetime) -> bool:
    """Moves ``due_at`` on only while it is still due: of two replicas, one sees its row change."""
    taken = session.execute(
        update(CheckState)
        .where(
            col(CheckState.name) == check.name,
            or_(col(CheckState.due_at).is_(None), col(CheckState.due_at) <= now),
        )
        .values(due_at=now + check.every)
    )
    return taken.rowcount == 1


# --- judging -------------------------------------------------------------------------------


def _state(session: Session, name: str) -> CheckState:
    query = select(CheckState).where(CheckState.name == name).with_for_update()
    found = session.exec(query.execution_options(populate_existing=True)).first()
    return found if found is not None else CheckState(name=name, firing=False)


def _settle(
    check: Check, state: CheckState, reading: Reading | CheckError, now: datetime
) -> AlertEvent | None:
    if isinstance(reading, Reading) and beyond(check, reading.value) <= 0:
        started, state.out_since = state.out_since, None
        if not state.firing:
            return None
        state.firing = False
        return _event(check, AlertStatus.RESOLVED, _back_within(check, reading), reading, started)
    state.out_since = state.out_since or now
    if state.firing or now - state.out_since < (check.for_ or timedelta()):
        return None
    state.firing = True
    summary = _out_of_bounds(check, reading, lasting=now - state.out_since)
    return _event(check, AlertStatus.FIRING, summary, reading, state.out_since)


def _event(
    check: Check,
    status: AlertStatus,
    summary: str,
    reading: Reading | CheckError,
    started: datetime | None,
) -> AlertEvent:
    return AlertEvent(
        source=SOURCE,
        key=check.name,
        name=check.name,
        status=status,
        summary=summary,
        value=number(reading.value) if isinstance(reading, Reading) else None,
        url=_link(check),
        labels={"check": check.name},
        started_at=started,
    )


def _out_of_bounds(check: Check, reading: Reading | CheckError, *, lasting: timedelta) -> str:
    """``signups_per_minute is 2 (min 10) for 3 min``: the bound it crossed, not both."""
    if isinstance(reading, CheckError):
        return f"{check.name} cannot be read: {reading}"
    crossed = (
        f"min {number(check.min)}"
        if check.min is not None and reading.value < check.min
        else f"max {number(check.max or 0)}"
    )
    lasted = f" for {words.span(lasting)}" if check.for_ is not None else ""
    return f"{check.name} is {number(reading.value)}{_on(reading)} ({crossed}){lasted}"


def _back_within(check: Check, reading: Reading) -> str:
    return (
        f"{check.name} is back within bounds: {number(reading.value)}{_on(reading)} "
        f"({_bounds(check)})"
    )


def _on(reading: Reading) -> str:
    return f" on {reading.where}" if reading.where else ""


def _link(check: Check) -> str | None:
    url = check.url or check.prometheus_url
    return public_url(url) if url else None


# --- showing -------------------------------------------------------------------------------


def _view(check: Check, state: CheckState | None, now: datetime) -> CheckView:
    health, said = _health(state, now)
    return CheckView(
        name=check.name,
        reads=_reads(check),
        bounds=_bounds(check),
        value=number(state.value) if state is not None and state.value is not None else None,
        checked_at=state.checked_at if state is not None else None,
        health=health,
        state=said,
        error=state.error if state is not None else None,
    )


def _health(state: CheckState | None, now: datetime) -> tuple[CheckHealth, str]:
    if state is None or state.checked_at is None:
        return CheckHealth.NOT_RUN, CheckHealth.NOT_RUN.value
    if state.firing:
        return CheckHealth.FIRING, CheckHealth.FIRING.value
    if state.error is not None:
        return CheckHealth.ERROR, f"error: {state.error}"
    if state.out_since is not None:
        return CheckHealth.OUT, f"out of bounds since {words.at(state.out_since, now=now)}"
    return CheckHealth.OK, CheckHealth.OK.value


def _bounds(check: Check) -> str:
    pairs = (("min", check.min), ("max", check.max))
    said = [f"{word} {number(bound)}" for word, bound in pairs if bound is not None]
    shares = (("max drop", check.max_drop), ("max rise", check.max_rise))
    said += [f"{word} {number(share * 100)}%" for word, share in shares if share is not None]
    return ", ".join(said)


def _reads(check: Check) -> str:
    if check.url is not None:
        path = f" → {check.json_path}" if check.json_path else ""
        return f"{public_url(check.url)}{path}"
    if check.prometheus_url is not None:
        return f"{check.query} at {public_url(check.prometheus_url)}"
    mount = f" of {check.mount}" if check.stat == "disk_used_percent" else ""
    return f"{check.stat}{mount} on the {check.environment} hosts"
