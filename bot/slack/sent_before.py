"""Whether Slack already holds a message: every message Andon posts carries its outbox id in
Slack's message metadata, so a courier taking over a message an earlier attempt may have posted
(its answer lost, or its courier dead) looks for it before posting it again.

Slack returns metadata only when asked (``include_all_metadata``), and reading a conversation
takes ``channels:history``, ``groups:history`` or ``im:history`` (docs/slack-setup.md). When it
cannot look — a scope missing, rate limited, down — the message is posted again: said twice is
better than lost, and the log says so once for each reason.
"""

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.calls import judged

log = logging.getLogger(__name__)

EVENT_TYPE = "andon_outbox"  # Slack: letters, digits and underscores, 255 at most
MARGIN = timedelta(minutes=5)  # Andon's clock against Slack's: the look starts this much earlier
PAGE = 200  # the most messages one look reads: the newest since the message was queued


def tag(outbox_id: int) -> dict[str, Any]:
    """The metadata every post carries, unseen by people: which outbox message it is."""
    return {"event_type": EVENT_TYPE, "event_payload": {"id": outbox_id}}


class SentBefore:
    """Looks in Slack for a message by its outbox id; says once for each reason it cannot."""

    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    def find(
        self, *, outbox_id: int, channel: str, thread_ts: str | None, since: datetime | None
    ) -> str | None:
        """The ts of the message carrying ``outbox_id`` in ``channel`` (in the thread of
        ``thread_ts``); ``None`` when Slack has none, or could not be asked."""
        looked = {"oldest": _oldest(since), "include_all_metadata": True, "limit": PAGE}
        try:
            if thread_ts:
                answer = self._client.conversations_replies(channel=channel, ts=thread_ts, **looked)
            else:
                answer = self._client.conversations_history(channel=channel, **looked)
        except SlackApiError as failed:
            self.cannot_look(judged(failed)[1])
            return None
        except (URLError, OSError, TimeoutError) as down:
            self.cannot_look(f"Slack unreachable ({type(down).__name__})")
            return None
        for message in answer.get("messages") or []:
            if isinstance(message, dict) and _carries(message, outbox_id):
                return str(message["ts"])
        return None

    def cannot_look(self, reason: str) -> None:
        """Once for each reason: messages whose answers were lost are posted again."""
        with self._lock:
            if reason in self._warned:
                return
            self._warned.add(reason)
        log.warning(
            "cannot look in Slack for messages an earlier attempt may have posted (%s): they "
            "are posted again, and may show twice; see docs/slack-setup.md",
            reason,
        )


def _oldest(since: datetime | None) -> str:
    """Slack's ``oldest``: when the message was queued, less the margin (0: from the start)."""
    if since is None:
        return "0"
    moment = since if since.tzinfo else since.replace(tzinfo=UTC)
    return f"{(moment - MARGIN).timestamp():.6f}"


def _carries(message: dict[str, Any], outbox_id: int) -> bool:
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != EVENT_TYPE:
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, dict) and str(payload.get("id")) == str(outbox_id)
