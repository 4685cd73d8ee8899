"""What the fake Slack keeps beside its calls: the workspace's members, found by e-mail, and
the files uploaded through Slack's external upload — each with the rules Slack applies to it."""

import itertools
import json
import threading
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
