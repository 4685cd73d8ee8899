"""Where a five whys stands — asking why 1 to 5, investing, or done — read from the stored
``Whys.open_level`` (1–5: that why is asked; 6: investments; 7: done) and changed only by
``move``, through the table."""

from enum import Enum

from sqlalchemy import ColumnElement
from sqlmodel import col

from core.lifecycle import Lifecycle
from storage.tables import Whys

LEVELS = 5


class Phase(Enum):
    """A phase; its value is what ``open_level`` stores for it."""

    WHY_1 = 1
    WHY_2 = 2
    WHY_3 = 3
    WHY_4 = 4
    WHY_5 = 5
    INVESTING = 6
    DONE = 7

    def __str__(self) -> str:
        return f"why {self.value}" if self.asked else self.name.lower()

    @classmethod
    def of(cls, row: Whys) -> "Phase":
        return cls(row.open_level)

    @classmethod
    def why(cls, level: int) -> "Phase":
        """The phase that asks why ``level`` (1–5)."""
        if not 1 <= level <= LEVELS:
            raise ValueError(f"there is no why {level}: the whys are 1–{LEVELS}")
        return cls(level)

    @property
    def asked(self) -> int | None:
        """The why asked now; None once all five are answered."""
        return self.value if self.value <= LEVELS else None

    @property
    def answered(self) -> bool:
        """All five whys are answered: the investments are asked, or given."""
        return self.asked is None

    @property
    def done(self) -> bool:
        return self is Phase.DONE

    @property
    def following(self) -> "Phase":
        """Where an answer to the open why leads: the next why, after the fifth the investments."""
        if self.asked is None:
            raise ValueError(f"{self} asks no why to answer")
        return Phase(self.value + 1)

    @property
    def previous(self) -> "Phase | None":
        """What ``back`` asks again: the why before the open one, or the fifth while investing;
        None before why 1, and once done."""
        if self is Phase.DONE or self is Phase.WHY_1:
            return None
        return Phase(self.value - 1)


# An answer asks the next why and ``back`` the one before; the last investment closes it.
LIFECYCLE = Lifecycle(
    {
        Phase.WHY_1: {Phase.WHY_2},
        Phase.WHY_2: {Phase.WHY_3, Phase.WHY_1},
        Phase.WHY_3: {Phase.WHY_4, Phase.WHY_2},
        Phase.WHY_4: {Phase.WHY_5, Phase.WHY_3},
        Phase.WHY_5: {Phase.INVESTING, Phase.WHY_4},
        Phase.INVESTING: {Phase.DONE, Phase.WHY_5},
        Phase.DONE: (),
    }
)


def move(row: Whys, to: Phase) -> None:
    """The one way a five whys changes phase: through the table."""
    what = f"the five whys of stoppage #{row.stoppage_id}"
    row.open_level = LIFECYCLE.check(Phase.of(row), to, what=what).value


def unfinished() -> ColumnElement[bool]:
    """A query's condition for the rows whose five whys is not done yet."""
    return col(Whys.open_level) < Phase.DONE.value
