"""Slack's Socket Mode end: a WebSocket server on loopback that says hello, sends envelopes and
records the acks the app sends back."""

import contextlib
import json
import queue
import threading
import time
import uuid
from typing import Any

from websockets.sync.server import ServerConnection, serve

from tests.fakes import slack_rules


class FakeSocketMode:
    def __init__(self) -> None:
        self._outgoing: queue.Queue[dict[str, Any]] = queue.Queue()
        self._acks: dict[str, list[dict[str, Any]]] = {}
        self._connected = threading.Event()
        self._lock = threading.Condition()
        self._server = serve(self._session, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeSocketMode":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()

    @property
    def url(self) -> str:
        port = self._server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket=andon-test"

    def wait_connected(self, timeout: float = 20.0) -> None:
        assert self._connected.wait(timeout), "the app never opened the Socket Mode connection"

    def send(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        envelope_id: str | None = None,
    ) -> str:
        """Send an envelope (``slash_commands``, ``interactive``, ``events_api``); its id.

        Slack numbers its retries in ``retry_attempt``; a retry of an envelope whose ack it
        missed carries the same ``envelope_id`` and payload."""
        envelope_id = envelope_id or str(uuid.uuid4())
        self._outgoing.put(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": retry_attempt,
                "retry_reason": "timeout" if retry_attempt else "",
            }
        )
        return envelope_id

    def ack(self, envelope_id: str, timeout: float = 10.0, *, nth: int = 1) -> dict[str, Any]:
        """The ``nth`` ack the app sent for the envelope (an envelope sent again is acked again)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._acks.get(envelope_id, [])) < nth:
                left = deadline - time.monotonic()
                assert left > 0, f"no ack {nth} for envelope {envelope_id}"
                self._lock.wait(left)
            acked = self._acks[envelope_id][nth - 1]
        payload = acked.get("payload")
        if isinstance(payload, dict) and payload and "response_action" not in payload:
            refusal = slack_rules.message(payload)  # Slack shows an ack's message, or an error
            assert refusal is None, f"Slack would refuse the ack's message: {refusal}"
        return acked

    def _session(self, connection: ServerConnection) -> None:
        connection.send(
            json.dumps(
                {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0ANDON01"}}
            )
        )
        self._connected.set()
        while True:
            with contextlib.suppress(queue.Empty):
                connection.send(json.dumps(self._outgoing.get(timeout=0.05)))
            try:
                message = connection.recv(timeout=0.05)
            except TimeoutError:
                continue
            except Exception:
                return
            answer = json.loads(message)
            with self._lock:
                self._acks.setdefault(answer.get("envelope_id", ""), []).append(answer)
                self._lock.notify_all()
