"""What the fake Slack keeps beside its calls: the workspace's members, found by e-mail, the
files uploaded through Slack's external upload, and the messages each conversation holds — each
with the rules Slack applies to it."""

import itertools
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

TEAM = "T0ANDON01"


class Members:
    """The workspace's people, as ``users.lookupByEmail`` finds them."""

    def __init__(self, lock: threading.Condition) -> None:
        self._lock = lock
        self._people: dict[str, dict[str, Any]] = {}  # e-mail (lower case) → the user's record

    def add(self, user_id: str, email: str, name: str) -> None:
        with self._lock:
            self._people[email.lower()] = {
                "id": user_id,
                "team_id": TEAM,
                "name": name.lower().replace(" ", "."),
                "real_name": name,
                "deleted": False,
                "is_bot": False,
                "profile": {"email": email, "real_name": name, "display_name": name},
            }

    def lookup_by_email(self, params: dict[str, Any]) -> dict[str, Any]:
        """Slack's answer: the member whose profile has the e-mail (any case), or
        ``users_not_found``; slack_sdk asks with GET and a query string."""
        email = str(params.get("email", "")).strip()
        if not email:
            return {"ok": False, "error": "invalid_arguments"}
        with self._lock:
            user = self._people.get(email.lower())
        if user is None:
            return {"ok": False, "error": "users_not_found"}
        return {"ok": True, "user": json.loads(json.dumps(user))}


class Files:
    """Slack's external upload: a ticket with an upload URL, the bytes POSTed there, then the
    completion that shares only files whose bytes arrived — once."""

    def __init__(self, lock: threading.Condition) -> None:
        self._lock = lock
        self._ids = itertools.count(1)
        self._files: dict[str, dict[str, Any]] = {}  # file id → filename, length, state
        self._bytes: dict[str, bytes] = {}

    def uploaded(self, file_id: str) -> bytes:
        with self._lock:
            return self._bytes[file_id]

    def ticket(self, params: dict[str, Any], *, port: int) -> dict[str, Any]:
        """``files.getUploadURLExternal``: an upload URL on the fake's own server."""
        length = str(params.get("length", ""))
        if not params.get("filename") or not length.isdigit() or int(length) <= 0:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F0ANDON{next(self._ids):04d}"
        with self._lock:
            self._files[file_id] = {
                "filename": params["filename"],
                "length": int(length),
                "state": "issued",
            }
        return {
            "ok": True,
            "upload_url": f"http://127.0.0.1:{port}/upload/v1/{file_id}",
            "file_id": file_id,
        }

    def receive(self, file_id: str, data: bytes) -> tuple[int, str]:
        """Slack's file service: 200 ``OK - <length>`` once the bytes the ticket named arrive."""
        with self._lock:
            issued = self._files.get(file_id)
            if issued is None or issued["state"] != "issued":
                return 404, "Not Found"
            if len(data) != issued["length"]:
                return 400, f"expected {issued['length']} bytes, got {len(data)}"
            issued["state"] = "uploaded"
            self._bytes[file_id] = data
        return 200, f"OK - {len(data)}"

    def complete(self, params: dict[str, Any]) -> dict[str, Any]:
        """``files.completeUploadExternal``: shares files whose bytes arrived, once each."""
        files = params.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        channel = params.get("channel_id")
        if channel is not None and str(channel)[:1] not in ("C", "G", "D"):
            return {"ok": False, "error": "channel_not_found"}
        with self._lock:
            if any(self._files.get(f.get("id"), {}).get("state") != "uploaded" for f in files):
                return {"ok": False, "error": "file_not_found"}
            for f in files:
                self._files[f["id"]]["state"] = "completed"  # completing is once only
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}


@dataclass(frozen=True)
class Said:
    """A message Slack took: where, when (the fake's ts are counters, not times) and as what."""

    channel: str
    at: float  # seconds since the epoch, when the fake took it: what a Slack ts tells
    message: dict[str, Any]  # as conversations.history returns it, metadata included


class Conversations:
    """The messages each conversation holds, read back by ``conversations.history`` and
    ``conversations.replies`` as Slack does: by channel ID, between ``oldest`` and ``latest``
    (compared with when the fake took each message), ``limit`` at a time, with their metadata
    only when asked (``include_all_metadata``)."""

    def __init__(self, lock: threading.Condition) -> None:
        self._lock = lock
        self._said: list[Said] = []

    def take(self, channel: str, ts: str, params: dict[str, Any], *, user: str) -> None:
        """A chat.postMessage Slack accepted: the conversation holds it from now on."""
        message: dict[str, Any] = {"type": "message", "user": user, "ts": ts}
        message["text"] = params.get("text") or ""
        for key in ("blocks", "thread_ts", "metadata"):
            if params.get(key):
                message[key] = params[key]
        with self._lock:
            self._said.append(Said(channel, time.time(), message))

    def shown(self, channel: str) -> list[dict[str, Any]]:
        """Every message the conversation holds, oldest first, thread replies included."""
        with self._lock:
            return [said.message for said in self._said if said.channel == channel]

    def history(self, params: dict[str, Any]) -> dict[str, Any]:
        """The conversation's messages, newest first; thread replies stay in their thread."""
        channel = str(params.get("channel") or "")
        if not channel or channel.startswith("#"):
            return {"ok": False, "error": "channel_not_found"}  # an ID, never a #name
        found = [
            said
            for said in self._between(channel, params)
            if said.message.get("thread_ts", said.message["ts"]) == said.message["ts"]
        ]
        return self._page(list(reversed(found)), params)

    def replies(self, params: dict[str, Any]) -> dict[str, Any]:
        """A thread: its parent first, then its replies, oldest first."""
        channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
        with self._lock:
            parent = [s for s in self._said if s.channel == channel and s.message["ts"] == ts]
        if not parent:
            return {"ok": False, "error": "thread_not_found"}
        replies = [s for s in self._between(channel, params) if s.message.get("thread_ts") == ts]
        return self._page(parent + replies, params)

    def _between(self, channel: str, params: dict[str, Any]) -> list[Said]:
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or time.time() + 1)
        with self._lock:
            return [s for s in self._said if s.channel == channel and oldest < s.at <= latest]

    def _page(self, found: list[Said], params: dict[str, Any]) -> dict[str, Any]:
        limit = min(int(params.get("limit") or 100), 999)
        metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        shown = [
            {k: v for k, v in said.message.items() if metadata or k != "metadata"}
            for said in found[:limit]
        ]
        return {
            "ok": True,
            "messages": json.loads(json.dumps(shown)),
            "has_more": len(found) > limit,
        }
