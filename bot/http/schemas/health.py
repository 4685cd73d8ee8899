"""``GET /healthz``: the process answers, and its database does too."""

from typing import Literal

from pydantic import BaseModel


class Health(BaseModel):
    """Alive: an answer at all is the news (a database that fails is a 500)."""

    status: Literal["ok"]
