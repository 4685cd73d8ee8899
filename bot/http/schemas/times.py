"""Moments as the API has always written them: ``datetime.isoformat()`` (``+00:00``, not ``Z``)."""

from datetime import datetime
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema

Moment = Annotated[
    datetime,
    PlainSerializer(datetime.isoformat, return_type=str),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "example": "2026-11-26T14:00:00+00:00"}
    ),
]
