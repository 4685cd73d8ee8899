"""Three ``andon serve`` replicas on one PostgreSQL database, each holding its own Socket Mode
connection: Slack hands each envelope to one connection in turn and sends again, on another
connection, an envelope nobody acknowledged in time. A stop, a why answered in the thread, a
button press and a start each happen once, and every envelope is acknowledged. Then a replica
freezes with an envelope in hand and dies (SIGKILL): Slack sends that envelope again to a
survivor, and the command, the event and the press still each take effect once."""

import signal
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.slack import APP_TOKEN, FakeSlack
from tests.fakes.socket_mode import ACK_WITHIN, FakeSocketMode
from tests.postgres import PostgresCluster
from tests.replicas import NAMES, ONCALL, Replicas, each_said_once, pending
from tests.slack_requests import block_action, slash_command, socket_payload, thread_reply
from tests.waiting import eventually

THREE = 3
FIRST_WHY = "the sign-up test called the real payment API"
TAKE_OVER = 35.0  # seconds: a dead courier's claim (30 s) and a tick
_events = iter(range(1, 1_000_000))


class SocketReplicas:
    """The trio, each replica on its own Socket Mode connection to one fake Slack end."""

    def __init__(self, trio: Replicas, socket_mode: FakeSocketMode) -> None:
        self.trio, self.socket_mode, self.slack = trio, socket_mode, trio.slack
        self.sent: list[str] = []

    def _send(self, kind: str, request: tuple[bytes, str]) -> str:
        envelope = self.socket_mode.send(kind, socket_payload(*request))
        self.sent.append(envelope)
        return envelope

    def command(self, command: str, text: str, *, user: str = "U0MARIA") -> str:
        """A slash command typed in Slack: its envelope id."""
        request = slash_command(
            command, text, user=user, name=NAMES[user], response_url=self.slack.response_url()
        )
        return self._send("slash_commands", request)

    def press(self, action_id: str, value: str, *, user: str) -> str:
        request = block_action(
            action_id, value, user=user, name=user.lower(), response_url=self.slack.response_url()
        )
        return self._send("interactive", request)

    def reply(self, thread: str, text: str) -> str:
        """An answer in a thread, as the Events API delivers it."""
        event = f"EvSOCKET{next(_events):06d}"
        return self._send(
            "events_api", thread_reply(text, user="U0MARIA", thread_ts=thread, event_id=event)
        )

    def answer(self, envelope: str) -> str:
        """The text a command's ack carried (a repeat of it is acked empty)."""
        self.socket_mode.ack(envelope, timeout=30)
        said = eventually(
            lambda: [a for a in self.socket_mode.acks(envelope) if a.get("payload")],
            timeout=30,
            what=f"the answer to envelope {envelope}",
        )
        return said[0]["payload"]["text"]

    def all_acked(self) -> None:
        """Every envelope of the scenario acknowledged by some replica, no ack out of nowhere."""
        eventually(
            lambda: not set(self.sent) & set(self.socket_mode.unacked()),
            timeout=ACK_WITHIN * 4 + 20,
            what=lambda: f"acks for {set(self.sent) & set(self.socket_mode.unacked())}",
        )
        assert self.socket_mode.strays() == []


@pytest.fixture(scope="module")
def spread(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresCluster, fake_slack: FakeSlack
) -> Iterator[SocketReplicas]:
    url = postgres.create_database("andon_socket_replicas")
    root = tmp_path_factory.mktemp("socket-replicas")
    with FakeSocketMode(ack_within=ACK_WITHIN) as socket_mode:
        fake_slack.socket_url = socket_mode.url
        trio = Replicas(root, database_url=url, slack=fake_slack, count=THREE)
        for server in trio.servers:
            server.env["SLACK_APP_TOKEN"] = APP_TOKEN
            del server.env["SLACK_SIGNING_SECRET"]  # Socket Mode needs no signing secret
        try:
            trio.start()
            socket_mode.wait_connected(timeout=60, count=THREE)
            yield SocketReplicas(trio, socket_mode)
        finally:
            trio.stop()
            fake_slack.socket_url = None


@pytest.fixture
def slack(spread: SocketReplicas) -> FakeSlack:
    spread.slack.forget()
    spread.sent.clear()
    return spread.slack


def _once(find: Any, *, what: Any, timeout: float = 20.0) -> str:
    """The one message ``find`` returns, once it is there; more than one fails."""
    found = eventually(find, timeout=timeout, what=what)
    assert len(found) == 1, found
    return found[0]


def test_a_stop_a_why_a_press_and_a_start_spread_over_the_connections_happen_once(
    spread: SocketReplicas, slack: FakeSlack
) -> None:
    trio = spread.trio
    stop = spread.command("/line", "stop socket replicas")
    assert spread.answer(stop).startswith("You stopped the line")
    stoppage = trio.next().open_stoppage(timeout=20)
    thread = stoppage["thread_ts"]
    spread.reply(thread, f"because {FIRST_WHY}")
    asked = _once(
        lambda: [t for t in trio.thread(thread) if t.startswith("Why 2")], what="why 2 asked"
    )
    assert asked == f"Why 2: why “{FIRST_WHY}”?"
    schedule = spread.command("/whys", "schedule tomorrow 10:00")
    assert "scheduled for" in spread.answer(schedule)
    spread.press("line_start", "", user="U0JOE")
    answered = slack.wait_for("response_url", lambda p: "started the line" in p.get("text", ""))
    assert len(answered) == 1
    _once(
        lambda: [t for t in trio.channel() if t.startswith("Line running again")],
        what="the restart told",
    )
    stops = [t for t in trio.channel() if "socket replicas" in t]
    assert len(stops) == 1 and stops[0].startswith("Line stopped"), trio.channel()
    # the three connections each carried a share: the envelopes went round, none was lost
    links = {spread.socket_mode.deliveries(e)[0][0] for e in spread.sent}
    assert len(links) == THREE, links
    spread.all_acked()
    assert trio.api("/api/line")["state"] == "running"
    each_said_once(slack)


def _paged(spread: SocketReplicas) -> int:
    """An alert pages the on-call person once: the page's id."""
    trio = spread.trio
    assert trio.alert("signups_low")["paged"] == 1
    _once(lambda: [t for t in trio.dms(ONCALL) if "page #" in t], what="the page DM'd")
    return int(trio.api("/api/pages")["pages"][0]["id"])


def test_a_replica_dies_with_an_envelope_in_hand_and_a_survivor_acts_on_it_once(
    spread: SocketReplicas, slack: FakeSlack
) -> None:
    trio, socket_mode = spread.trio, spread.socket_mode
    page = _paged(spread)
    thread = trio.next().open_stoppage(timeout=20)["thread_ts"]  # the page stopped the line
    url = trio.servers[0].env["ANDON_DATABASE_URL"]
    eventually(lambda: not pending(url), timeout=20, what="the outbox delivered")
    victim = trio.servers[1]
    victim.process.send_signal(signal.SIGSTOP)  # frozen: what reaches it stays unread
    try:
        envelopes = [
            spread.command("/line", "stop the victim died"),
            spread.reply(thread, f"because {FIRST_WHY}"),
            spread.press("page_ack", str(page), user=ONCALL),
        ]
        eventually(
            lambda: all(socket_mode.deliveries(e) for e in envelopes),
            what="the three envelopes written, one to each connection",
        )
    finally:
        victim.process.kill()  # SIGKILL with envelopes in flight: no ack, no cleanup
        victim.process.wait()
    eventually(lambda: socket_mode.connections() == THREE - 1, what="the dead connection closed")
    spread.all_acked()
    _told_once(spread, slack)
    [lost] = [e for e in envelopes if not socket_mode.is_open(socket_mode.deliveries(e)[0][0])]
    first, again = socket_mode.deliveries(lost)[:2]
    assert first[1:] == (0, "") and again[1:] == (1, "timeout"), socket_mode.deliveries(lost)
    assert socket_mode.is_open(again[0])  # sent again to a survivor, which acked it
    start = spread.command("/line", "start force the next scenario")
    assert spread.answer(start).startswith("You started the line")
    _once(
        lambda: [t for t in trio.channel() if "forced the line to start" in t],
        what="the forced start told",
    )
    each_said_once(slack)


def _told_once(spread: SocketReplicas, slack: FakeSlack) -> None:
    """The stop, the why and the press each took effect once, whoever got them."""
    trio = spread.trio
    said = _once(
        lambda: trio.posts(lambda p: "the victim died" in p["text"]),
        what="the stop told",
        timeout=TAKE_OVER,
    )
    assert said.endswith("added a cause: the victim died"), said  # the page had stopped it
    stoppage = trio.api("/api/line")["stoppage"]
    assert [c["text"] for c in stoppage["causes"]][-1] == "the victim died", stoppage
    _once(
        lambda: [t for t in trio.thread(stoppage["thread_ts"]) if t.startswith("Why 2")],
        what="why 2 asked",
        timeout=TAKE_OVER,
    )
    updates = slack.wait_for(
        "chat.update", lambda p: "acknowledged by" in p.get("text", ""), timeout=TAKE_OVER
    )
    assert len(updates) == 1, [u.params["text"] for u in updates]
    assert trio.api("/api/pages")["pages"][0]["status"] == "acknowledged"
    stops = [e for e in _audit(spread, "line.stop") if e["detail"] == "the victim died"]
    assert len(stops) == 1, stops


def _audit(spread: SocketReplicas, action: str) -> list[dict[str, Any]]:
    entries = spread.trio.api("/api/audit?limit=1000")["entries"]
    return [e for e in entries if e["action"] == action]


def test_no_replica_logged_an_error(spread: SocketReplicas) -> None:
    """Replicas racing for the same rows (a new stoppage's five whys, claimed work) wait for
    each other; none fails on another's insert."""
    for server in spread.trio.servers:
        errors = [line for line in server.log().splitlines() if " ERROR " in line]
        assert errors == [], errors
