"""Every call to Slack's Web API, counted by method and how Slack answered it.

The courier's client and the one bolt hands each listener (``views.open``, ``auth.test`` …) are
both ``CountedClient``s, so ``andon_slack_calls_total`` on ``/metrics`` sees them all. The counts
live in this process: each replica counts its own calls, from zero at every start.
"""

import threading
from collections import Counter
from enum import StrEnum
from typing import Any, cast

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

# Slack's own words for "not now": the same call may pass later.
TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class Outcome(StrEnum):
    OK = "ok"
    REFUSED = "refused"  # Slack answered and said no: retrying the same call will not help
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"  # 5xx, a transient error, or no answer at all


class Tally:
    """Calls per (method, outcome), safe to add to from every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, Outcome]] = Counter()

    def add(self, method: str, outcome: Outcome) -> None:
        with self._lock:
            self._counts[(method, outcome)] += 1

    def counts(self) -> dict[tuple[str, Outcome], int]:
        with self._lock:
            return dict(self._counts)


CALLS = Tally()


def judged(failed: SlackApiError) -> tuple[Outcome, str]:
    """How a failed call ended, and Slack's word for it (``invalid_blocks``, ``HTTP 503``)."""
    response = failed.response
    status = getattr(response, "status_code", 0) or 0
    error = (response.get("error") if hasattr(response, "get") else None) or f"HTTP {status}"
    if status == 429 or error == "ratelimited":
        return Outcome.RATE_LIMITED, str(error)
    if status >= 500 or error in TRANSIENT:
        return Outcome.UNAVAILABLE, str(error)
    return Outcome.REFUSED, str(error)


class CountedClient(WebClient):
    """A ``WebClient`` whose every call is counted in ``CALLS``."""

    def api_call(self, api_method: str, *args: Any, **kwargs: Any) -> SlackResponse:
        try:
            answer = super().api_call(api_method, *args, **kwargs)
        except SlackApiError as failed:
            CALLS.add(api_method, judged(failed)[0])
            raise
        except Exception:
            CALLS.add(api_method, Outcome.UNAVAILABLE)
            raise
        CALLS.add(api_method, Outcome.OK)
        return answer


def counted(client: WebClient) -> CountedClient:
    """The same client, counted: bolt builds a plain ``WebClient`` for every request, and
    counting that one (``CountedClient`` adds no state) costs nothing, where building a second
    client cost every request about as much as checking its signature."""
    if not isinstance(client, CountedClient):
        client.__class__ = CountedClient
    return cast(CountedClient, client)
