"""The courier's hand-over to Slack's Web API, translating its answers into retry or give up.

Every post, reply and DM carries its outbox id in Slack's message metadata; one an earlier
attempt may have posted is looked for first (bot/slack/sent_before.py). An update edits a
message in place, the same however often it is sent; a file's share cannot carry metadata.
"""

import base64
import json
from typing import Any
from urllib.error import URLError

import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.outbox.chat import Outgoing, RetryLaterError, Sent, UndeliverableError
from bot.outbox.message import MessageKind
from bot.slack import sent_before
from bot.slack.calls import Outcome, judged


class SlackChat:
    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._channel_ids: dict[str, str] = {}  # "#line" → "C0…", learned from Slack's answers
        self._dm_ids: dict[str, str] = {}  # "U0…" → "D0…": one conversations.open per person
        self._looking = sent_before.SentBefore(client)

    def send(self, message: Outgoing) -> Sent:
        try:
            return self._send(message)
        except SlackApiError as failed:
            raise _judge(failed) from failed
        except (URLError, OSError, TimeoutError) as down:
            raise RetryLaterError(f"Slack unreachable: {down}") from down

    def _send(self, message: Outgoing) -> Sent:
        if message.maybe_sent and (found := self._sent_before(message)) is not None:
            return found
        text = message.payload.get("text", "")
        blocks = message.payload.get("blocks") or None
        tag = sent_before.tag(message.id)
        match message.kind:
            case MessageKind.POST:
                answer = self._client.chat_postMessage(
                    channel=message.target,
                    text=text,
                    blocks=blocks,
                    unfurl_links=False,
                    metadata=tag,
                )
                self._channel_ids[message.target] = answer["channel"]
                return Sent(answer["channel"], answer["ts"], self._permalink(answer))
            case MessageKind.REPLY:
                answer = self._client.chat_postMessage(
                    channel=message.parent_channel or message.target,
                    thread_ts=message.parent_ts,
                    text=text,
                    blocks=blocks,
                    unfurl_links=False,
                    metadata=tag,
                    **({"reply_broadcast": True} if message.payload.get("reply_broadcast") else {}),
                )
                return Sent(answer["channel"], answer["ts"])
            case MessageKind.DM:
                answer = self._direct(message.target, text=text, blocks=blocks, tag=tag)
                return Sent(answer["channel"], answer["ts"])
            case MessageKind.UPDATE:
                channel, ts = message.parent_channel or message.target, message.parent_ts
                answer = self._client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
                return Sent(answer["channel"], answer["ts"])
            case MessageKind.FILE:
                return self._upload(message)
        raise UndeliverableError(f"unknown message kind {message.kind!r}")

    def _sent_before(self, message: Outgoing) -> Sent | None:
        """The message as an earlier attempt posted it, found in Slack by its outbox id."""
        where = self._conversation(message)
        if where is None:
            return None
        channel, thread_ts = where
        ts = self._looking.find(
            outbox_id=message.id, channel=channel, thread_ts=thread_ts, since=message.queued_at
        )
        if ts is None:
            return None
        posted = message.kind == MessageKind.POST
        permalink = self._permalink({"channel": channel, "ts": ts}) if posted else None
        return Sent(channel, ts, permalink, found=True)

    def _conversation(self, message: Outgoing) -> tuple[str, str | None] | None:
        """Where a post, reply or DM would be: the channel's ID and the thread, if any."""
        match message.kind:
            case MessageKind.POST:
                channel = self._channel_ids.get(message.target, message.target)
                if channel.startswith("#"):
                    self._looking.cannot_look(f"{channel} is a name; its ID is not known yet")
                    return None
                return channel, None
            case MessageKind.REPLY:
                return message.parent_channel or message.target, message.parent_ts
            case MessageKind.DM:
                if message.target not in self._dm_ids:
                    opened = self._client.conversations_open(users=message.target)
                    self._dm_ids[message.target] = opened["channel"]["id"]
                return self._dm_ids[message.target], None
        return None  # an update or a file: see the module's docstring

    def _upload(self, message: Outgoing) -> Sent:
        """Slack's external upload: ask for a URL, POST the bytes there, then share the file.

        A failure at any step retries the whole: an upload URL is good for one file, and Slack
        discards a file that is never completed.
        """
        content = base64.b64decode(message.payload["content"])
        channel = self._channel_id(message.parent_channel or message.target)
        ticket = self._client.files_getUploadURLExternal(
            filename=message.payload["filename"], length=len(content)
        )
        self._post_bytes(str(ticket["upload_url"]), content)
        done = self._client.files_completeUploadExternal(
            files=[{"id": ticket["file_id"], "title": message.payload["title"]}],
            channel_id=channel,
            thread_ts=message.parent_ts,
            **_attached_to(message.payload),
        )
        shared = done["files"][0]
        return Sent(channel, str(shared["id"]), shared.get("permalink"))  # the file's id

    def _post_bytes(self, url: str, content: bytes) -> None:
        """The upload URL is Slack's file service, not its Web API: plain HTTP, judged here."""
        answer = requests.post(url, data=content, timeout=self._client.timeout)
        if answer.status_code == 200:
            return
        reason = f"Slack's file service answered HTTP {answer.status_code}"
        if answer.status_code == 429:
            raise RetryLaterError(reason, retry_after(answer), unheard=True)
        if answer.status_code >= 500:
            raise RetryLaterError(reason)
        raise UndeliverableError(f"{reason}: {answer.text[:200]}")

    def _channel_id(self, channel: str) -> str:
        """Sharing a file takes a channel ID where posting takes a name too."""
        if not channel.startswith("#"):
            return channel
        known = self._channel_ids.get(channel)
        if known is None:
            raise UndeliverableError(
                f"cannot share a file in {channel}: Slack needs the channel's ID — "
                "set [slack] channel in andon.toml to it (C…)"
            )
        return known

    def _direct(
        self, user: str, *, text: str, blocks: list[dict[str, Any]] | None, tag: dict[str, Any]
    ) -> SlackResponse:
        """A DM through the person's known conversation; in a storm of pages that halves the
        calls. A cached conversation Slack no longer accepts is opened afresh, once."""
        said = {"text": text, "blocks": blocks, "metadata": tag}
        cached = self._dm_ids.get(user)
        if cached is not None:
            try:
                return self._client.chat_postMessage(channel=cached, **said)
            except SlackApiError as refused:
                if refused.response.get("error") not in ("channel_not_found", "is_archived"):
                    raise
                self._dm_ids.pop(user, None)
        opened = self._client.conversations_open(users=user)
        self._dm_ids[user] = opened["channel"]["id"]
        return self._client.chat_postMessage(channel=self._dm_ids[user], **said)

    def _permalink(self, answer: dict) -> str | None:  # type: ignore[type-arg]
        """Links to the thread make refusals useful; a message without one still counts as sent."""
        try:
            link = self._client.chat_getPermalink(
                channel=answer["channel"], message_ts=answer["ts"]
            )
            return str(link["permalink"])
        except (SlackApiError, URLError, OSError, KeyError):
            return None


def _attached_to(payload: dict[str, Any]) -> dict[str, str]:
    """The message a file is shared with. Slack ignores ``blocks`` beside an ``initial_comment``,
    so blocks go alone; this method takes form fields, so they go as JSON text."""
    if payload.get("blocks"):
        return {"blocks": json.dumps(payload["blocks"])}
    if payload.get("text"):
        return {"initial_comment": str(payload["text"])}
    return {}


def _judge(failed: SlackApiError) -> Exception:
    outcome, error = judged(failed)
    if outcome == Outcome.RATE_LIMITED:
        return RetryLaterError(
            f"rate limited by Slack ({error})", retry_after(failed.response), unheard=True
        )
    if outcome == Outcome.UNAVAILABLE:
        return RetryLaterError(f"Slack answered {error}")
    return UndeliverableError(f"Slack refused the message: {error}", error=error)


def retry_after(response: object) -> float | None:
    """Slack's ``Retry-After`` in seconds, when it said one."""
    headers = getattr(response, "headers", {}) or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return float(value if isinstance(value, str) else value[0])
            except (TypeError, ValueError):
                return None
    return None
