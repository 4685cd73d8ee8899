"""An operator's command run like any front's: executed through Andon, what it announced
delivered (or shown, with the terminal as the channel), its answer printed. ``bot.cli`` and the
``bot.cli.*`` modules all run their commands through here."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from core.refusal import Refusal

if TYPE_CHECKING:
    from bot.andon import Andon
    from bot.intents.typed import Intent
    from bot.settings.environment import Settings


def run_intent(
    settings: Settings,
    intent: Intent,
    *,
    name: str | None,
    announce: bool,
    workers: bool = True,
) -> int:
    """Execute like any front, print the answer; exit 1 on a refusal, 2 on a failure.
    ``workers=False`` for an intent whose handler neither deploys nor watches a flag: the
    command then starts without importing the deployer and the flag watcher."""
    from bot.intents.typed import ShowLine
    from bot.main import chat_for, open_andon, person
    from bot.render.reply import Failure, reply
    from bot.terminal.chat import transcript

    andon = open_andon(settings, chat_for(settings), workers=workers)
    since = watermark(andon)
    result = andon.execute(intent, person(name, via="cli"))
    if announce:
        deliver(andon, slack=settings.uses_slack, since=since)
    for line in transcript(reply(result)):
        print(line)
    if isinstance(intent, ShowLine):
        print(f"(read from {andon.database.shown()} with {settings.andon_config})")
    andon.database.dispose()
    if isinstance(result, Failure):
        return 2
    return 1 if isinstance(result, Refusal) else 0


def watermark(andon: Andon) -> int:
    """The newest message queued so far: what a command queues comes after it."""
    from sqlalchemy import func
    from sqlmodel import select

    from storage.tables import OutboxMessage

    with andon.database.reading() as session:
        return int(session.exec(select(func.max(OutboxMessage.id))).one() or 0)


def deliver(andon: Andon, *, slack: bool, since: int) -> None:
    """The channel hears what changed, whichever front changed it; a slow Slack shows progress.

    Without Slack the line channel is the terminal of the running ``andon serve``: its courier
    prints what this command queued, in order with everything else, and this command shows it
    here too."""
    if not slack:
        shown = _show_queued(andon, since=since)
        if shown:
            print(
                f"({shown} message(s) queued for the line channel: the terminal of "
                "`andon serve` shows them in order.)",
                file=sys.stderr,
            )
        return
    left = andon.courier.flush(timeout=1.0)
    if left:
        print(f"Delivering {left} announcement(s) to Slack…", file=sys.stderr, flush=True)
        left = andon.courier.flush(timeout=9.0)
    if left:
        print(
            f"{left} announcement(s) queued; `andon serve` delivers them when the chat answers.",
            file=sys.stderr,
        )


def _show_queued(andon: Andon, *, since: int) -> int:
    """Print what was queued after ``since`` as the terminal channel will, numbers and all,
    without taking it from the server's courier."""
    from sqlmodel import col, select

    from bot.outbox.chat import Outgoing
    from bot.outbox.message import MessageKind, MessageStatus
    from bot.terminal.chat import TerminalChat
    from storage.tables import OutboxMessage

    terminal = TerminalChat()
    with andon.database.reading() as session:
        rows = session.exec(
            select(OutboxMessage)
            .where(
                col(OutboxMessage.id) > since,
                OutboxMessage.status != MessageStatus.SUPERSEDED.value,
            )
            .order_by(col(OutboxMessage.id))
        ).all()
        for row in rows:
            assert row.id is not None
            parent = session.get(OutboxMessage, row.parent_id) if row.parent_id else None
            terminal.send(
                Outgoing(
                    id=row.id,
                    kind=MessageKind(row.kind),
                    target=row.target,
                    payload=row.payload,
                    parent_channel=parent.channel if parent else None,
                    parent_ts=(parent.ts or str(parent.id)) if parent else None,
                )
            )
    return len(rows)
