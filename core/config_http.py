"""``[http]``: how ``andon serve`` runs its HTTP server and how long it may take to stop."""

from datetime import timedelta

from pydantic import BaseModel, field_validator

from core.config_values import STRICT, Duration

MAX_STOP_GRACE = timedelta(minutes=10)


class HttpConfig(BaseModel):
    """The server's own settings (the address and port are ``ANDON_HTTP_*`` in the environment)."""

    model_config = STRICT
    # SIGTERM or SIGINT to "stopped": requests finish, deploys reach a safe point, the outbox
    # gets a last delivery — all within this. systemd waits 90 s, Kubernetes 30 s by default.
    stop_grace: Duration = timedelta(seconds=20)

    @field_validator("stop_grace")
    @classmethod
    def _bounded(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1) or value > MAX_STOP_GRACE:
            raise ValueError("must be between 1 s and 10 min")
        return value
