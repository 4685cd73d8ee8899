"""Requests as Slack sends them to ``/slack/events``: form-encoded or JSON, signed with v0 HMAC."""

import hashlib
import hmac
import itertools
import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode

SIGNING_SECRET = "test-signing-secret-5f1d0c"
_invocations = itertools.count(1)


def fresh_trigger_id() -> str:
    """Slack gives every command, press and submission its own ``trigger_id``."""
    return f"{next(_invocations)}.{int(time.time())}.{uuid.uuid4().hex}"


def socket_payload(body: bytes, content_type: str) -> dict[str, Any]:
    """The same request as Slack puts it in a Socket Mode envelope: the fields, not the bytes."""
    if content_type == "application/json":
        return json.loads(body)
    form = dict(parse_qsl(body.decode(), keep_blank_values=True))
    return json.loads(form["payload"]) if "payload" in form else form


def signed_headers(body: bytes, *, secret: str = SIGNING_SECRET, at: int | None = None) -> dict:
    stamp = str(at if at is not None else int(time.time()))
    base = b"v0:" + stamp.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def slash_command(
    command: str,
    text: str,
    *,
    user: str,
    name: str,
    response_url: str,
    channel: str = "C0LINE001",
    trigger_id: str | None = None,
) -> tuple[bytes, str]:
    form = {
        "token": "legacy-verification-token",
        "team_id": "T0ANDON01",
        "team_domain": "andon-test",
        "channel_id": channel,
        "channel_name": "line",
        "user_id": user,
        "user_name": name,
        "command": command,
        "text": text,
        "api_app_id": "A0ANDON01",
        "response_url": response_url,
        "trigger_id": trigger_id or fresh_trigger_id(),
    }
    return urlencode(form).encode(), "application/x-www-form-urlencoded"


def block_action(
    action_id: str,
    value: str,
    *,
    user: str,
    name: str,
    response_url: str,
    message_ts: str = "",
    trigger_id: str | None = None,
) -> tuple[bytes, str]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": "T0ANDON01", "domain": "andon-test"},
        "user": {"id": user, "username": name, "name": name, "team_id": "T0ANDON01"},
        "api_app_id": "A0ANDON01",
        "token": "legacy-verification-token",
        "trigger_id": trigger_id or fresh_trigger_id(),
        "channel": {"id": "C0LINE001", "name": "line"},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": "C0LINE001"},
        "message": {"ts": message_ts, "text": ""},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b1",
                "value": value,
                "text": {"type": "plain_text", "text": "Start the line"},
                "action_ts": str(time.time()),
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"


def thread_reply(
    text: str,
    *,
    user: str,
    thread_ts: str,
    event_id: str,
    channel: str = "C0LINE001",
    ts: str | None = None,
) -> tuple[bytes, str]:
    event = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts or _now_ts(),
        "thread_ts": thread_ts,
        "channel_type": "channel",
    }
    return event_callback(event, event_id=event_id)


def thread_broadcast(
    text: str, *, user: str, thread_ts: str, event_id: str, channel: str = "C0LINE001"
) -> tuple[bytes, str]:
    """A thread reply posted with "Also send to channel": subtype ``thread_broadcast``, with the
    thread's first message as ``root`` (Slack's ``thread_broadcast`` message event)."""
    ts = _now_ts()
    event = {
        "type": "message",
        "subtype": "thread_broadcast",
        "text": text,
        "user": user,
        "ts": ts,
        "thread_ts": thread_ts,
        "root": {
            "type": "message",
            "subtype": "bot_message",
            "text": "Line stopped",
            "bot_id": "BANDON01",
            "ts": thread_ts,
            "thread_ts": thread_ts,
            "reply_count": 1,
            "reply_users_count": 1,
            "latest_reply": ts,
            "reply_users": [user],
            "is_locked": False,
        },
        "client_msg_id": f"client-{ts}",
        "channel": channel,
        "event_ts": ts,
        "channel_type": "channel",
    }
    return event_callback(event, event_id=event_id)


def file_share(
    text: str,
    *,
    user: str,
    thread_ts: str,
    event_id: str,
    channel: str = "C0LINE001",
    name: str = "grafana.png",
) -> tuple[bytes, str]:
    """A thread reply with a file (a screenshot); ``text`` is its comment, "" for none (Slack's
    ``file_share`` message event)."""
    ts = _now_ts()
    event = {
        "type": "message",
        "subtype": "file_share",
        "text": text,
        "files": [
            {
                "id": "F0SHOT0001",
                "created": int(float(ts)),
                "timestamp": int(float(ts)),
                "name": name,
                "title": name,
                "mimetype": "image/png",
                "filetype": "png",
                "pretty_type": "PNG",
                "user": user,
                "size": 48213,
                "mode": "hosted",
                "is_external": False,
                "is_public": True,
                "url_private": f"https://files.slack.com/files-pri/T0ANDON01-F0SHOT0001/{name}",
            }
        ],
        "upload": False,
        "user": user,
        "display_as_bot": False,
        "ts": ts,
        "thread_ts": thread_ts,
        "parent_user_id": "UANDONBOT",
        "channel": channel,
        "event_ts": ts,
        "channel_type": "channel",
    }
    return event_callback(event, event_id=event_id)


def message_changed(
    text: str,
    *,
    was: str,
    user: str,
    ts: str,
    thread_ts: str,
    event_id: str,
    channel: str = "C0LINE001",
) -> tuple[bytes, str]:
    """The thread reply ``ts`` edited from ``was`` to ``text``: subtype ``message_changed``,
    hidden, the edit's own ``ts``, the whole message again and the previous one (Slack's
    ``message_changed`` message event)."""
    edit_ts = _now_ts()
    message = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "thread_ts": thread_ts,
        "parent_user_id": "UANDONBOT",
        "edited": {"user": user, "ts": edit_ts},
        "client_msg_id": f"client-{ts}",
    }
    previous = {k: v for k, v in message.items() if k != "edited"} | {"text": was}
    event = {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "message": message,
        "previous_message": previous,
        "channel": channel,
        "ts": edit_ts,
        "event_ts": edit_ts,
        "channel_type": "channel",
    }
    return event_callback(event, event_id=event_id)


def bot_message(
    text: str, *, thread_ts: str, event_id: str, channel: str = "C0LINE001"
) -> tuple[bytes, str]:
    """Another app's message in the thread: subtype ``bot_message``, a ``bot_id``, no user."""
    ts = _now_ts()
    event = {
        "type": "message",
        "subtype": "bot_message",
        "text": text,
        "bot_id": "B0DEPLOY01",
        "username": "deploy-bot",
        "ts": ts,
        "thread_ts": thread_ts,
        "channel": channel,
        "event_ts": ts,
        "channel_type": "channel",
    }
    return event_callback(event, event_id=event_id)


def event_callback(event: dict[str, Any], *, event_id: str) -> tuple[bytes, str]:
    """An Events API envelope around ``event``, as Slack posts it."""
    envelope = {
        "token": "legacy-verification-token",
        "team_id": "T0ANDON01",
        "api_app_id": "A0ANDON01",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event": event,
    }
    return json.dumps(envelope).encode(), "application/json"


def _now_ts() -> str:
    return f"{time.time():.6f}"


def view_submission(
    callback_id: str,
    values: dict[str, dict[str, Any]],
    *,
    user: str,
    name: str,
    private_metadata: str = "",
    trigger_id: str | None = None,
) -> tuple[bytes, str]:
    """A modal submitted: ``values`` is ``view.state.values`` (block id → action id → element)."""
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": {"id": "T0ANDON01", "domain": "andon-test"},
        "user": {"id": user, "username": name, "name": name, "team_id": "T0ANDON01"},
        "api_app_id": "A0ANDON01",
        "token": "legacy-verification-token",
        "trigger_id": trigger_id or fresh_trigger_id(),
        "view": {
            "id": "V0001",
            "type": "modal",
            "team_id": "T0ANDON01",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": values},
            "hash": "1780000000.abcdef",
            "app_id": "A0ANDON01",
            "bot_id": "BANDON01",
        },
        "response_urls": [],
    }
    return urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"
