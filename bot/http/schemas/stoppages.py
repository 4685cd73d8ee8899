"""``GET /api/line`` and ``GET /api/stoppages/{id}``: the line, a stoppage, its five whys."""

from pydantic import BaseModel, Field

from bot.http.schemas.actions import ActionItem
from bot.http.schemas.people import Person, Someone
from bot.http.schemas.times import Moment
from core.line import LineState, LineStatus
from core.stoppage import StoppageState, StoppageView
from core.whys.analysis import Analysis, Answer
from core.whys.severity import Severity
from storage.tables import ActionItem as ActionItemRow


class Cause(BaseModel):
    """A reason the line was stopped for, who gave it and when."""

    text: str
    by: Person
    at: Moment


class Stoppage(BaseModel):
    """A stoppage: when it opened and closed, by whom, for which causes, and its thread."""

    id: int
    state: StoppageState
    opened_at: Moment
    opened_by: Person
    closed_at: Moment | None
    closed_by: Person | None
    duration_s: float | None = Field(description="seconds from opened to closed; null while open")
    causes: list[Cause] = Field(description="the first pulled the cord")
    thread_ts: str | None
    thread_channel: str | None
    thread_link: str | None

    @classmethod
    def fields_of(cls, item: StoppageView) -> dict[str, object]:
        """The stoppage's fields, shared by the line's open stoppage and the full record."""
        closed = item.closed_at
        return {
            "id": item.id,
            "state": item.state,
            "opened_at": item.opened_at,
            "opened_by": Person.of(item.opened_by),
            "closed_at": closed,
            "closed_by": Person.maybe(item.closed_by),
            "duration_s": (closed - item.opened_at).total_seconds() if closed else None,
            "causes": [Cause(text=c.text, by=Person.of(c.by), at=c.at) for c in item.causes],
            "thread_ts": item.thread_ts,
            "thread_channel": item.thread_channel,
            "thread_link": item.thread_link,
        }

    @classmethod
    def of(cls, item: StoppageView) -> "Stoppage":
        """The API's stoppage for a recorded one."""
        return cls.model_validate(cls.fields_of(item))


class Line(BaseModel):
    """Whether the line runs, since when, and its open stoppage."""

    state: LineState
    since: Moment
    stoppage: Stoppage | None = Field(description="the open stoppage; null while running")

    @classmethod
    def of(cls, now: LineStatus) -> "Line":
        """The API's line for where it stands now."""
        open_one = Stoppage.of(now.stoppage) if now.stoppage else None
        return cls(state=now.state, since=now.since, stoppage=open_one)


class WhyAnswer(BaseModel):
    """One answer of the five whys (``level`` 1 to 5), and its last edit."""

    level: int
    text: str
    by: Someone
    at: Moment
    edited_at: Moment | None

    @classmethod
    def of(cls, answer: Answer) -> "WhyAnswer":
        """The API's answer for a recorded one."""
        by = Someone(id=answer.by, name=answer.by_name)
        return cls(
            level=answer.level, text=answer.text, by=by, at=answer.at, edited_at=answer.edited_at
        )


class Whys(BaseModel):
    """A stoppage's five whys: how far it is, its answers, when it is done or booked."""

    severity: Severity
    open_level: int = Field(description="1–5: the why asked now; 6: investing; 7: done")
    done_at: Moment | None
    scheduled_at: Moment | None = Field(description="when its meeting is booked, if it is")
    repeat_of: int | None = Field(description="the earlier stoppage this one repeats")
    answers: list[WhyAnswer]

    @classmethod
    def of(cls, shown: Analysis) -> "Whys":
        """The API's five whys for an analysis."""
        return cls(
            severity=shown.severity,
            open_level=shown.phase.value,
            done_at=shown.done_at,
            scheduled_at=shown.scheduled_at,
            repeat_of=shown.repeat_of,
            answers=[WhyAnswer.of(answer) for answer in shown.answers],
        )


class StoppageRecord(Stoppage):
    """A stoppage with its five whys and the investments it made."""

    whys: Whys
    investments: list[ActionItem]

    @classmethod
    def of_analysed(
        cls, item: StoppageView, *, shown: Analysis, items: list[ActionItemRow]
    ) -> "StoppageRecord":
        """The full record of a stoppage."""
        whys = Whys.of(shown)
        investments = [ActionItem.of(row) for row in items]
        return cls.model_validate({**cls.fields_of(item), "whys": whys, "investments": investments})
