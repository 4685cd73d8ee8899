"""Moments as the API has always written them: ``datetime.isoformat()`` (``+00:00``, not ``Z``)."""

from datetime import datetime
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema


def _written(moment: datetime) -> str:
    """A function of its own, not the builtin method: pydantic before 2.7 reads its signature."""
    return moment.isoformat()


Moment = Annotated[
    datetime,
    PlainSerializer(_written, return_type=str),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "example": "2026-11-26T14:00:00+00:00"}
    ),
]
