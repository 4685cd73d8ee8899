"""Publishes people's Home tabs with ``views.publish``: at once when someone opens theirs, and
after what it shows has changed — read from the database, outside the change's transaction.

Which Homes are stale lives in ``home_viewer`` (``core.home.viewers``): a publisher claims one
with a short lease, so several replicas never publish one Home at once; Slack busy or down
postpones it with a growing wait, and a Home Slack refuses is logged with Slack's reason.
"""

import logging
import threading
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.render.home import home as render
from bot.slack.web import retry_after
from bot.workers import holders
from core.home import view, viewers

if TYPE_CHECKING:
    from bot.bus.engine import Engine

log = logging.getLogger(__name__)

_TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable"}


class Outcome(StrEnum):
    PUBLISHED = "published"
    SKIPPED = "skipped"  # fresh, not due, or another publisher holds it
    POSTPONED = "postponed"
    RATE_LIMITED = "rate_limited"
    REFUSED = "refused"


class Homes:
    """The publisher: one per process, woken after every change and polling every ``every``."""

    def __init__(self, andon: "Engine", *, client: WebClient, every: float = 5.0) -> None:
        self.holder = holders.token()
        self._andon = andon
        self._client = client
        self._every = every
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- running in the background ---------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="andon-homes", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=10)

    def nudge(self) -> None:
        """Something may have changed: look for stale Homes now rather than at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception:
                log.exception("publishing Home tabs failed a round; it will try again")
            self._wake.wait(timeout=self._every)
            self._wake.clear()

    # --- the work ----------------------------------------------------------------------------

    def show(self, user: str) -> Outcome:
        """Someone is looking at their Home (opened it, pressed a button on it): remember them,
        and publish theirs now."""
        with self._andon.database.writing() as session:
            viewers.seen(session, clock=self._andon.clock, user=user)
        return self.publish(user)

    def refresh(self) -> int:
        """Publish every stale Home that is due; returns how many went out. Slack's rate limit
        ends the round: the rest wait for the next."""
        with self._andon.database.reading() as session:
            due = viewers.due(session, clock=self._andon.clock)
        published = 0
        for user in due:
            if self._stop.is_set():
                break
            outcome = self.publish(user)
            published += outcome == Outcome.PUBLISHED
            if outcome == Outcome.RATE_LIMITED:
                break
        return published

    def publish(self, user: str) -> Outcome:
        """One Home, if it is stale and nobody else holds it."""
        database, clock = self._andon.database, self._andon.clock
        with database.writing() as session:
            shown = viewers.claim(session, clock=clock, user=user, holder=self.holder)
        if shown is None:
            return Outcome.SKIPPED
        try:
            with database.reading() as session:
                home = view.read(session, clock=clock, config=self._andon.config, viewer=user)
            self._client.views_publish(user_id=user, view=render(home))
        except SlackApiError as failed:
            return self._judge(user, shown, failed)
        except (URLError, OSError, TimeoutError) as down:
            return self._postpone(user, f"Slack unreachable: {down}")
        except Exception as broken:
            log.exception("the Home of %s could not be built", user)
            return self._postpone(user, f"{type(broken).__name__}: {broken}")
        with database.writing() as session:
            viewers.published(session, clock=clock, user=user, holder=self.holder, shown=shown)
        return Outcome.PUBLISHED

    def _judge(self, user: str, shown: int, failed: SlackApiError) -> Outcome:
        response = failed.response
        status = getattr(response, "status_code", 0) or 0
        error = str(response.get("error") or f"HTTP {status}")
        if status == 429:
            after = retry_after(response)
            self._postpone(user, f"rate limited by Slack ({error})", after)
            return Outcome.RATE_LIMITED
        if status >= 500 or error in _TRANSIENT:
            return self._postpone(user, f"Slack answered {error}")
        with self._andon.database.writing() as session:
            viewers.refused(
                session,
                clock=self._andon.clock,
                user=user,
                holder=self.holder,
                shown=shown,
                reason=f"Slack refused the Home: {error}",
            )
        log.error("Slack refused the Home of %s: %s", user, error)
        return Outcome.REFUSED

    def _postpone(self, user: str, reason: str, after: float | None = None) -> Outcome:
        with self._andon.database.writing() as session:
            wait = viewers.postponed(
                session,
                clock=self._andon.clock,
                user=user,
                holder=self.holder,
                reason=reason,
                after=timedelta(seconds=after) if after is not None else None,
            )
        log.warning("the Home of %s postponed %.0fs: %s", user, wait.total_seconds(), reason)
        return Outcome.POSTPONED
