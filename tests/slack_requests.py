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
    text: str, *, user: str, thread_ts: str, event_id: str, channel: str = "C0LINE001"
) -> tuple[bytes, str]:
    envelope = {
        "token": "legacy-verification-token",
        "team_id": "T0ANDON01",
        "api_app_id": "A0ANDON01",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event": {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": f"{time.time():.6f}",
            "thread_ts": thread_ts,
            "channel_type": "channel",
        },
    }
    return json.dumps(envelope).encode(), "application/json"


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
