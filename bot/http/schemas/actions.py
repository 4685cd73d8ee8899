"""``GET /api/actions``: the action items of every five whys."""

from datetime import date

from pydantic import BaseModel, Field

from bot.http.schemas.times import Moment
from core.whys.item_status import ItemStatus
from storage.tables import ActionItem as ActionItemRow


class ActionItem(BaseModel):
    """An investment of a five whys at one level: an action with an owner and a due date, or a
    reasoned ``none``."""

    id: int
    stoppage_id: int
    level: int
    text: str
    owner: str | None = Field(description="a Slack user id, or a name")
    owner_name: str | None
    due: date | None
    category: str | None
    status: ItemStatus
    created_at: Moment | None
    done_at: Moment | None
    done_by: str | None

    @classmethod
    def of(cls, row: ActionItemRow) -> "ActionItem":
        """The API's action item for a stored one."""
        return cls(
            id=row.id,
            stoppage_id=row.stoppage_id,
            level=row.level,
            text=row.text,
            owner=row.owner,
            owner_name=row.owner_name,
            due=row.due,
            category=row.category,
            status=row.status,
            created_at=row.created_at,
            done_at=row.done_at,
            done_by=row.done_by,
        )


class ActionItems(BaseModel):
    """Action items, oldest first."""

    actions: list[ActionItem]
