"""Slack's Socket Mode end: a WebSocket server on loopback that says hello, sends envelopes and
records the acks the app sends back.

Like Slack, it takes several connections at once (an app may hold up to ten) and hands each
envelope to one of them, in turn. With ``ack_within`` set it holds Slack's promise too: an
envelope not acknowledged in time is sent again, on another connection when there is one, with
the same ``envelope_id`` and payload and ``retry_attempt`` counting up (``retry_reason``
``timeout``), at most ``RETRIES`` times. An ack for an envelope it never sent is kept apart:
``strays()`` — Slack would not know it either."""

import contextlib
import itertools
import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from websockets.sync.server import ServerConnection, serve

from tests.fakes import slack_rules

RETRIES = 3  # Slack gives up on an envelope after three retries
ACK_WITHIN = 3.0  # seconds Slack waits for an envelope's ack


@dataclass
class Link:
    """One app connection: its number (in the order they opened) and what waits to go out."""

    number: int
    outgoing: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    open: bool = True


@dataclass
class Delivery:
    """An envelope written to a connection, and when: its ack is due ``ack_within`` later."""

    envelope: dict[str, Any]
    link: int
    at: float


class FakeSocketMode:
    def __init__(self, *, ack_within: float | None = None) -> None:
        self.ack_within = ack_within
        self._links: list[Link] = []
        self._turn = itertools.count()  # new envelopes go round the connections in turn
        self._retry_turn = itertools.count()  # and retries, apart: they never skew the round
        self._sent: dict[str, Delivery] = {}  # envelope id: its latest delivery, until acked
        self._deliveries: list[Delivery] = []  # every envelope written, retries too
        self._acks: dict[str, list[dict[str, Any]]] = {}
        self._strays: list[dict[str, Any]] = []
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._server = serve(self._session, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._redeliverer = threading.Thread(target=self._redeliver, daemon=True)

    def __enter__(self) -> "FakeSocketMode":
        self._thread.start()
        self._redeliverer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._server.shutdown()

    @property
    def url(self) -> str:
        port = self._server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket=andon-test"

    def wait_connected(self, timeout: float = 20.0, *, count: int = 1) -> None:
        """Until ``count`` connections are open (each replica holds one)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.connections() < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{self.connections()} Socket Mode connection(s), not {count}"
                self._lock.wait(left)

    def connections(self) -> int:
        return sum(link.open for link in self._links)

    def send(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        envelope_id: str | None = None,
    ) -> str:
        """Send an envelope (``slash_commands``, ``interactive``, ``events_api``) to the next
        open connection; its id.

        Slack numbers its retries in ``retry_attempt``; a retry of an envelope whose ack it
        missed carries the same ``envelope_id`` and payload."""
        envelope = {
            "envelope_id": envelope_id or str(uuid.uuid4()),
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        with self._lock:
            self._hand_over(envelope, avoid=None, turn=next(self._turn))
        return envelope["envelope_id"]

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

    def acks(self, envelope_id: str) -> list[dict[str, Any]]:
        """Every ack the app sent for the envelope so far, late ones too."""
        with self._lock:
            return list(self._acks.get(envelope_id, []))

    def unacked(self) -> list[str]:
        """Envelopes sent and never acknowledged (Slack gave up on those past their retries)."""
        with self._lock:
            sent = {d.envelope["envelope_id"] for d in self._deliveries}
            return sorted(sent - set(self._acks))

    def deliveries(self, envelope_id: str) -> list[tuple[int, int, str]]:
        """Each time the envelope was written: connection, ``retry_attempt``, ``retry_reason``."""
        with self._lock:
            return [
                (d.link, d.envelope["retry_attempt"], d.envelope["retry_reason"])
                for d in self._deliveries
                if d.envelope["envelope_id"] == envelope_id
            ]

    def is_open(self, number: int) -> bool:
        with self._lock:
            return self._links[number].open

    def strays(self) -> list[dict[str, Any]]:
        """Acks for envelopes never sent."""
        with self._lock:
            return list(self._strays)

    # --- Slack's side ------------------------------------------------------------------------

    def _hand_over(self, envelope: dict[str, Any], *, avoid: int | None, turn: int) -> None:
        """To the next open connection in turn, another than ``avoid`` when there is one."""
        open_links = [link for link in self._links if link.open] or self._links[-1:]
        assert open_links, "no Socket Mode connection to send the envelope on"
        others = [link for link in open_links if link.number != avoid] or open_links
        link = others[turn % len(others)]
        self._sent[envelope["envelope_id"]] = Delivery(envelope, link.number, time.monotonic())
        link.outgoing.put(envelope)

    def _redeliver(self) -> None:
        """Slack's retries: an envelope not acked within ``ack_within`` goes out again."""
        while not self._stopping.wait(0.05):
            if self.ack_within is None:
                continue
            with self._lock:
                now = time.monotonic()
                late = [d for d in self._sent.values() if now - d.at > self.ack_within]
                for delivery in late:
                    envelope = dict(delivery.envelope)
                    del self._sent[envelope["envelope_id"]]
                    if envelope["retry_attempt"] >= RETRIES:
                        continue  # Slack gives up
                    envelope["retry_attempt"] += 1
                    envelope["retry_reason"] = "timeout"
                    self._hand_over(envelope, avoid=delivery.link, turn=next(self._retry_turn))

    def _session(self, connection: ServerConnection) -> None:
        with self._lock:
            link = Link(number=len(self._links))
            self._links.append(link)
            hello = {
                "type": "hello",
                "num_connections": self.connections(),
                "connection_info": {"app_id": "A0ANDON01"},
            }
            self._lock.notify_all()
        try:
            connection.send(json.dumps(hello))
            self._converse(connection, link)
        finally:
            with self._lock:
                link.open = False
                self._lock.notify_all()

    def _converse(self, connection: ServerConnection, link: Link) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(queue.Empty):
                envelope = link.outgoing.get(timeout=0.05)
                connection.send(json.dumps(envelope))
                with self._lock:
                    self._deliveries.append(Delivery(envelope, link.number, time.monotonic()))
            try:
                message = connection.recv(timeout=0.05)
            except TimeoutError:
                continue
            except Exception:
                return
            self._acked(json.loads(message))

    def _acked(self, answer: dict[str, Any]) -> None:
        envelope_id = answer.get("envelope_id", "")
        with self._lock:
            if envelope_id not in {d.envelope["envelope_id"] for d in self._deliveries}:
                self._strays.append(answer)
            else:
                self._acks.setdefault(envelope_id, []).append(answer)
                self._sent.pop(envelope_id, None)
            self._lock.notify_all()
