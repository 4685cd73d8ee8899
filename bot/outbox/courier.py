"""Delivers the outbox: in order per lane, retried with backoff, replies after their parents.
Running, it sends its lanes side by side (``lanes.py``): a person's DMs, the channel's posts.

Several processes may run a courier on one database (the server, a CLI command flushing what it
just queued): a message is claimed with a short lease before it is sent, so none is sent twice
by two couriers. A message an earlier claim may have sent — its answer lost, or its courier
dead between Slack's answer and the bookkeeping — is looked for in the chat before it is sent
again (Slack: by the outbox id every post carries in its metadata), so it is said once; when the
chat cannot look, it is sent again: losing one is the worse failure.

A message Slack refuses as invalid (``invalid_blocks``, ``msg_too_long`` …) is sent again once in
its minimal form before it is given up; a page's DM that still cannot be delivered is handed to
``lost_page``, which passes the page on, so no page vanishes with its message.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from bot.outbox import delivery_times
from bot.outbox.chat import Chat, Outgoing, RetryLaterError, Sent, UndeliverableError
from bot.outbox.lanes import Lanes
from bot.outbox.message import MessageKind, MessageStatus, move
from bot.outbox.notifier import DM_LANE
from bot.render import message_links
from bot.render.minimal import minimal_form
from bot.workers import holders
from core.clock import Clock
from storage.database import Database
from storage.tables import OutboxMessage

log = logging.getLogger(__name__)

CLAIM = timedelta(
    seconds=30
)  # a send is a few Slack calls of 10 s at most; a dead claim waits this
ORPHANS_EVERY = 5.0  # seconds between looks for claims of couriers that died on this machine
MAX_BACKOFF = 300.0
_PENDING = col(OutboxMessage.status) == MessageStatus.PENDING.value
LANE_READ = 16  # messages of a lane read at once by its sender
SHRINKABLE = (MessageKind.POST, MessageKind.REPLY, MessageKind.DM, MessageKind.UPDATE)  # not a file
FOUND = "already in the chat: an earlier attempt sent it and its answer was lost; not sent again"


@dataclass(frozen=True)
class LostPage:
    """A page's DM the chat would not deliver: whose, and the chat's reason."""

    message_id: int
    page_id: int
    user: str
    reason: str


class Courier:
    def __init__(
        self,
        database: Database,
        chat: Chat,
        *,
        clock: Clock,
        lost_page: Callable[[LostPage], None] | None = None,
    ) -> None:
        self.holder = holders.token()
        self.lost_page = lost_page  # the composition root wires the page's next step here
        self._db = database
        self._chat = chat
        self._clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()  # the background loop ends
        self._halt = threading.Event()  # no further message is sent by this process
        self._thread: threading.Thread | None = None
        self._lanes = Lanes(self._drain, emptied=self._wake.set)

    # --- running in the background ---------------------------------------------------------

    def start(self) -> None:
        self.release_orphans()
        self._thread = threading.Thread(target=self._run, name="andon-courier", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=10)
        self._lanes.stop(timeout=10)

    def finish(self, *, timeout: float) -> int:
        """Andon is stopping: the loop ends, then one last delivery of what is due (waiting for
        a short Retry-After) within ``timeout``; how many messages are left for the next start."""
        deadline = time.monotonic() + timeout
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=timeout)
        self._lanes.stop(timeout=max(deadline - time.monotonic(), 0))
        try:
            return self.flush(timeout=max(deadline - time.monotonic(), 0))
        finally:
            self._halt.set()

    def release_orphans(self) -> int:
        """Claims of couriers whose process died are freed now, not when their lease runs out:
        a restarted Andon, or a replica beside the dead one, delivers at once what it had in
        hand (a courier on another machine is known dead only when its claim runs out).
        ``claimed_by`` stays: whoever takes the message over knows it may be in the chat."""
        held = (_PENDING, col(OutboxMessage.claimed_until).is_not(None))
        with self._db.writing() as session:
            claimants = session.exec(
                select(OutboxMessage.claimed_by)
                .where(*held, col(OutboxMessage.claimed_by).is_not(None))
                .distinct()
            ).all()
            dead = [c for c in claimants if holders.is_dead(c, me=self.holder)]
            if not dead:
                return 0
            freed = session.execute(
                update(OutboxMessage)
                .where(*held, col(OutboxMessage.claimed_by).in_(dead))
                .values(claimed_until=None)
            )
            return freed.rowcount

    def nudge(self) -> None:
        """Something was queued: deliver now rather than at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        orphans_at = time.monotonic() + ORPHANS_EVERY
        while not self._stop.is_set():
            try:
                if time.monotonic() >= orphans_at:
                    orphans_at = time.monotonic() + ORPHANS_EVERY
                    self.release_orphans()  # a replica beside this one died holding messages
                self._lanes.send([lane for _, lane in _heads(self._db)])
            except Exception:
                log.exception("the courier failed a round; it will try again")
            self._wake.wait(timeout=1.0)
            self._wake.clear()

    # --- one round ---------------------------------------------------------------------------

    def deliver_due(self) -> int:
        """Send the head of every lane that is due; return how many messages went out.

        Direct messages go first, and after each one the heads are read again: a page is
        someone being woken, while the channel's posts only tell the story.
        """
        sent = 0
        progress = True
        while progress and not self._halt.is_set():
            progress = False
            for message_id, lane in _heads(self._db):
                if self._deliver(message_id):
                    sent += 1
                    progress = True
                    if lane.startswith(DM_LANE):
                        break
        return sent

    def _drain(self, lane: str) -> bool:
        """A lane's sender: its due messages in order, until it is empty (True) or its head
        cannot go now — not due, claimed elsewhere, postponed (False). The lane is read a few
        messages at a time, not once a message: a storm's page queues four or five."""
        while not self._stop.is_set():
            queued = _queued(self._db, lane)
            if not queued:
                return True
            for index, message_id in enumerate(queued):
                if self._stop.is_set():
                    return False
                if not self._deliver(message_id):
                    if index == 0:
                        return False
                    break  # superseded or settled meanwhile, perhaps: the lane is read again
        return False

    def flush(self, *, timeout: float) -> int:
        """Deliver until nothing is pending or time is up; return how many are left."""
        deadline = time.monotonic() + timeout
        while True:
            self.deliver_due()
            left = self.pending()
            if not left or time.monotonic() >= deadline:
                return left
            time.sleep(0.1)

    def pending(self) -> int:
        with self._db.reading() as session:
            query = select(func.count()).where(_PENDING)
            return int(session.exec(query).one())

    def _deliver(self, message_id: int) -> bool:
        outgoing = self._claim(message_id)
        if outgoing is None:
            return False
        try:
            sent, note = _sent_through(self._chat, outgoing)
        except RetryLaterError as busy:
            unheard = busy.unheard and not outgoing.maybe_sent  # no earlier attempt may have
            self._postpone(message_id, str(busy), busy.after, unheard=unheard)
            return False
        except UndeliverableError as refused:
            self._undeliverable(outgoing, refused)
            return False
        except Exception as broken:
            log.exception("sending message #%s failed", message_id)
            self._postpone(message_id, f"{type(broken).__name__}: {broken}", None)
            return False
        self._mark_sent(message_id, sent, note=note)
        return True

    def _undeliverable(self, outgoing: Outgoing, refused: UndeliverableError) -> None:
        """Given up — but a page's DM first hands its page on (each page of a DM that lists
        several); if that fails, all is retried."""
        page_ids = _pages_of(outgoing.payload)
        if outgoing.kind == MessageKind.DM and page_ids and self.lost_page is not None:
            for page_id in page_ids:
                lost = LostPage(
                    outgoing.id, page_id, outgoing.target, refused.error or str(refused)
                )
                try:
                    self.lost_page(lost)
                except Exception:
                    log.exception(
                        "message #%s: page #%s could not be passed on", outgoing.id, page_id
                    )
                    self._postpone(outgoing.id, str(refused), None)
                    return
        self._give_up(outgoing.id, str(refused))

    def _claim(self, message_id: int) -> Outgoing | None:
        now = self._clock.now()
        with self._db.writing(urgent=True) as session:
            row = session.get(OutboxMessage, message_id)
            if row is None or row.status != MessageStatus.PENDING or row.next_attempt_at > now:
                return None
            parent = session.get(OutboxMessage, row.parent_id) if row.parent_id else None
            if parent is not None and parent.status == MessageStatus.FAILED:
                _fail(row, f"its parent message #{parent.id} could not be delivered", now)
                session.add(row)
                return None
            if parent is not None and parent.status != MessageStatus.SENT:
                return None  # waits for the parent's ts
            maybe_sent = row.claimed_by is not None  # claimed before: that send may have landed
            if not _take(session, message_id, now, self.holder):
                return None
            return Outgoing(
                id=message_id,
                kind=MessageKind(row.kind),
                target=row.target,
                payload=message_links.resolved(session, row.payload),
                parent_channel=parent.channel if parent else None,
                parent_ts=parent.ts if parent else None,
                queued_at=row.created_at,
                maybe_sent=maybe_sent,
            )

    def _mark_sent(self, message_id: int, sent: Sent, *, note: str | None = None) -> None:
        with self._db.writing(urgent=True) as session:
            row = session.get(OutboxMessage, message_id)
            assert row is not None
            if _settled_meanwhile(row):
                return
            move(row, MessageStatus.SENT)
            row.channel, row.ts = sent.channel, sent.ts
            now = self._clock.now()
            row.permalink, row.sent_at, row.claimed_until = sent.permalink, now, None
            row.attempts += 1
            row.last_error = note or row.last_error
            session.add(row)
            kind, queued_at = row.kind, row.created_at
        delivery_times.delivered(kind, queued_at=queued_at, sent_at=now)

    def _postpone(
        self, message_id: int, reason: str, after: float | None, *, unheard: bool = False
    ) -> None:
        """Tried again later; ``unheard``: no attempt can have reached the chat, so the next one
        need not look for it first (the claim is forgotten)."""
        with self._db.writing() as session:
            row = session.get(OutboxMessage, message_id)
            assert row is not None
            row.attempts += 1
            wait = after if after is not None else min(2.0 ** (row.attempts - 1), MAX_BACKOFF)
            row.next_attempt_at = self._clock.now() + timedelta(seconds=wait)
            row.claimed_until, row.last_error = None, reason
            if unheard:
                row.claimed_by = None
            session.add(row)
        log.warning("message #%s postponed %.1fs: %s", message_id, wait, reason)

    def _give_up(self, message_id: int, reason: str) -> None:
        with self._db.writing() as session:
            row = session.get(OutboxMessage, message_id)
            assert row is not None
            if _settled_meanwhile(row):
                return
            _fail(row, reason, self._clock.now())
            session.add(row)
        log.error("message #%s cannot be delivered: %s", message_id, reason)


def _heads(database: Database) -> list[tuple[int, str]]:
    """The oldest pending message of every lane, DM lanes first, then oldest first."""
    query = select(func.min(OutboxMessage.id), OutboxMessage.lane).where(_PENDING)
    with database.reading() as session:
        heads = [(int(i), str(at)) for i, at in session.exec(query.group_by(OutboxMessage.lane))]
    return sorted(heads, key=lambda head: (not head[1].startswith(DM_LANE), head[0]))


def _queued(database: Database, lane: str) -> list[int]:
    """The first pending messages of one lane, oldest first."""
    query = (
        select(OutboxMessage.id)
        .where(_PENDING, OutboxMessage.lane == lane)
        .order_by(col(OutboxMessage.id))
        .limit(LANE_READ)
    )
    with database.reading() as session:
        return [int(message_id) for message_id in session.exec(query) if message_id is not None]


def _sent_through(chat: Chat, outgoing: Outgoing) -> tuple[Sent, str | None]:
    """The message, or — refused as invalid — its minimal form, once; the note says so, or that
    the chat already held the message."""
    try:
        sent = chat.send(outgoing)
    except UndeliverableError as refused:
        if not refused.invalid or outgoing.kind not in SHRINKABLE:
            raise
        return _minimal(chat, outgoing, first=refused.error)
    if sent.found:
        log.warning("message #%s %s", outgoing.id, FOUND)
        return sent, FOUND
    return sent, None


def _minimal(chat: Chat, outgoing: Outgoing, *, first: str | None) -> tuple[Sent, str]:
    log.error("message #%s refused by Slack (%s): sent again in minimal form", outgoing.id, first)
    smaller = replace(outgoing, payload=minimal_form(outgoing.payload), maybe_sent=False)
    try:
        sent = chat.send(smaller)  # the refusal said it was not taken: no look again
    except UndeliverableError as again:
        reason = f"{again}, in minimal form too (the full message: {first})"
        raise UndeliverableError(reason, error=again.error) from again
    return sent, f"sent in minimal form: Slack refused the full message ({first})"


def _take(session: Session, message_id: int, now: datetime, holder: str) -> bool:
    """The lease: only one courier wins the update."""
    claimed = session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == message_id,
            _PENDING,
            or_(
                col(OutboxMessage.claimed_until).is_(None),
                col(OutboxMessage.claimed_until) < now,
            ),
        )
        .values(claimed_until=now + CLAIM, claimed_by=holder)
    )
    return claimed.rowcount == 1


def _fail(row: OutboxMessage, reason: str, now: datetime) -> None:
    move(row, MessageStatus.FAILED)
    row.last_error, row.claimed_until, row.sent_at = reason, None, now


def _settled_meanwhile(row: OutboxMessage) -> bool:
    """Sent or given up by another courier after this one's claim ran out, or superseded: the
    message stays as it was settled first."""
    if row.status == MessageStatus.PENDING:
        return False
    log.warning("message #%s was %s meanwhile: left as it is", row.id, row.status)
    return True


def _pages_of(payload: dict[str, Any]) -> list[int]:
    """The pages a DM carries: ``page_id`` for one, ``page_ids`` for a round's summary."""
    many = payload.get("page_ids")
    if isinstance(many, list):
        return [page_id for page_id in many if isinstance(page_id, int)]
    one = payload.get("page_id")
    return [one] if isinstance(one, int) else []
