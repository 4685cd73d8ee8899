"""Slack's directory of its people: a commit's e-mail becomes the Slack user CI names and tells.

``users.lookupByEmail`` (scope ``users:read.email``) knows the e-mail of every member of the
workspace. Its answers are kept — a person found for hours, "nobody has it" for minutes (they
may join), a failure for a minute — so a run of red builds asks Slack once and the CI path stays
fast. Nothing here raises: without an answer a message names the author as git does.
"""

import logging
import threading
import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)
# The lookup's own client logs nothing: a failure is told here, once, not at every red build.
QUIET = logging.getLogger(f"{__name__}.client")
QUIET.setLevel(logging.CRITICAL)

FOUND_FOR = 6 * 3600.0  # people rarely change their e-mail; a new one is found within hours
NOBODY_FOR = 15 * 60.0  # a newcomer's first red build may precede their Slack account
FAILED_FOR = 60.0  # Slack down or refusing: ask again soon, not at every build
MAX_KEPT = 10_000
LOOKUP_TIMEOUT = 3  # seconds: CI waits for the answer, and a name is never worth a long wait


class SlackDirectory:
    """The ``Directory`` port over Slack's Web API; safe to share between threads."""

    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._kept: dict[str, tuple[str | None, float]] = {}  # e-mail → (user, until)
        self._told: set[str] = set()  # failures already logged: once each, not per build

    def user_for(self, email: str) -> str | None:
        """The Slack user whose profile has ``email``; ``None`` when nobody's does, or when
        Slack cannot say right now."""
        key = email.strip().lower()
        if not key:
            return None
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept[1] > time.monotonic():
            return kept[0]
        user, keep_for = self._ask(key)
        with self._lock:
            self._kept.pop(key, None)  # re-inserted last: the oldest answers stay first
            self._make_room()
            self._kept[key] = (user, time.monotonic() + keep_for)
        return user

    def _ask(self, email: str) -> tuple[str | None, float]:
        try:
            answer = self._client.users_lookupByEmail(email=email)
        except SlackApiError as refused:
            error = _error(refused.response)
            if error == "users_not_found":
                return None, NOBODY_FOR
            self._tell(error)
            return None, FAILED_FOR
        except Exception as failed:  # network, timeout, a surprise: the message must still go
            self._tell(type(failed).__name__)
            return None, FAILED_FOR
        user = answer.get("user") or {}
        if not isinstance(user, dict) or not user.get("id") or user.get("deleted"):
            return None, NOBODY_FOR
        return str(user["id"]), FOUND_FOR

    def _tell(self, error: str) -> None:
        """The operator hears of a failing lookup once per kind of failure (the e-mail stays out:
        the log need not collect people's addresses)."""
        with self._lock:
            if error in self._told:
                return
            self._told.add(error)
        hint = (
            " — reinstall the app with the users:read.email scope (docs/slack-setup.md)"
            if error == "missing_scope"
            else ""
        )
        log.warning(
            "Slack's users.lookupByEmail failed (%s): CI names commit authors as git does, "
            "and [people] in andon.toml still maps e-mails%s",
            error,
            hint,
        )

    def _make_room(self) -> None:
        """Bounded memory: expired answers go first, then the oldest (called under the lock)."""
        if len(self._kept) < MAX_KEPT:
            return
        now = time.monotonic()
        for key in [k for k, (_user, until) in self._kept.items() if until <= now]:
            del self._kept[key]
        while len(self._kept) >= MAX_KEPT:
            del self._kept[next(iter(self._kept))]


def _error(response: Any) -> str:
    error = response.get("error") if hasattr(response, "get") else None
    if error:
        return str(error)
    return f"HTTP {getattr(response, 'status_code', '?')}"
