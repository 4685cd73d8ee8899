"""An action item's life: open until someone does it; "none" when a level invests nothing on
purpose. Restating a level's investment (the thread or the form again) reopens or declines it.
The values are what ``ActionItem.status`` stores."""

from enum import StrEnum

from sqlalchemy import ColumnElement, Update, update
from sqlmodel import col

from core.lifecycle import Lifecycle
from storage.tables import ActionItem


class ItemStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    NONE = "none"  # a reasoned "nothing to do at this level": never done, never late


LIFECYCLE = Lifecycle(
    {
        ItemStatus.OPEN: {ItemStatus.DONE, ItemStatus.NONE},
        ItemStatus.DONE: {ItemStatus.OPEN, ItemStatus.NONE},  # restated: a new investment
        ItemStatus.NONE: {ItemStatus.OPEN},
    }
)


def move(item: ActionItem, to: ItemStatus) -> None:
    """The one way an action item's status changes: through the table."""
    item.status = LIFECYCLE.check(ItemStatus(item.status), to, what=f"action item {item.id}").value


def moving(to: ItemStatus, *where: ColumnElement[bool]) -> Update:
    """The conditional update that moves the items ``where`` names to ``to``, only those whose
    status the table lets become ``to``: one statement decides, however many press at once."""
    sources = [status.value for status in LIFECYCLE.sources(to)]
    allowed = col(ActionItem.status).in_(sources)
    return update(ActionItem).where(*where, allowed).values(status=to.value)
