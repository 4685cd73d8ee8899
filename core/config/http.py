"""``[http]``: how much a request may carry and how long it may take, for every door at once;
and how long ``andon serve`` may take to stop."""

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, field_validator

from core.config.values import STRICT, Duration

KB = 1024
MB = 1024 * KB
# Real senders: a 5 MB JUnit report in a generic CI body, a 2,000-alert Alertmanager group
# (about 2 MB with labels and annotations), GitHub's largest workflow_run (tens of KB).
SMALLEST_BODY = 1 * MB
LARGEST_BODY = 1024 * MB
_SIZE = re.compile(r"(?P<amount>\d{1,10}(?:\.\d{1,3})?)\s*(?P<unit>B|KB|MB|GB)?", re.IGNORECASE)
_UNITS = {"b": 1, "kb": KB, "mb": MB, "gb": 1024 * MB}
_HINT = 'write e.g. "5MB" or "512KB"'
MAX_STOP_GRACE = timedelta(minutes=10)


def _size(value: Any) -> int:
    """TOML has no size type: ``"5MB"`` arrives as text; a KB is 1,024 bytes, a MB 1,024 KB."""
    if isinstance(value, int) and not isinstance(value, bool):
        amount = value
    elif isinstance(value, str) and (found := _SIZE.fullmatch(value.strip())):
        amount = int(float(found["amount"]) * _UNITS[(found["unit"] or "b").lower()])
    else:
        raise ValueError(f"{value!r} is not a size; {_HINT}")
    if not SMALLEST_BODY <= amount <= LARGEST_BODY:
        raise ValueError(
            f"{value!r} is outside 1MB–1GB: real senders send up to a few MB, and a body is held "
            "in memory while its signature is checked"
        )
    return amount


Size = Annotated[int, BeforeValidator(_size)]


class HttpConfig(BaseModel):
    """Every request's bounds: strangers get the same bounds as senders who know the secret."""

    model_config = STRICT
    max_body: Size = 5 * MB
    header_timeout: Duration = timedelta(seconds=10)  # from the first byte to the last header
    body_timeout: Duration = timedelta(seconds=30)  # from the last header to the last byte
    body_stall: Duration = timedelta(seconds=10)  # the longest wait for the body's next byte
    keep_alive: Duration = timedelta(seconds=5)  # an idle connection is closed after this
    max_connections: int = Field(default=1000, ge=10, le=100_000)  # past it: 503
    # SIGTERM or SIGINT to "stopped": requests finish, deploys reach a safe point, the outbox
    # gets a last delivery — all within this. systemd waits 90 s, Kubernetes 30 s by default.
    stop_grace: Duration = timedelta(seconds=20)

    @field_validator("stop_grace")
    @classmethod
    def _bounded(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1) or value > MAX_STOP_GRACE:
            raise ValueError("must be between 1 s and 10 min")
        return value
