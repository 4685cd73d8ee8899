"""The bus: every front hands Andon a message here — a slash command, a button, a modal, a
thread reply, a webhook, the commit check, the CLI, the scheduler — and it runs the same way for
all: its handler from the one table (``bot.bus.table``), in one unit of work (or the handler's
own), under one error handler.

A failure is logged under an error id and audited (``outcome`` error, the message as detail).
A command is then answered in words with that id (``Failure``); an event raises on, so its front
answers as it always has — a webhook's 500, Slack's retry, the hook's refusal.
"""

import logging
import secrets
import threading
from typing import Any, get_args

from bot.bus.delivery import Delivery, Repeat, RepeatError
from bot.bus.engine import Call, Engine
from bot.bus.table import HANDLERS, Handler
from bot.intents.typed import Intent
from bot.render.reply import Failure
from core import audit, help
from core.actor import Actor
from core.audit import Outcome

log = logging.getLogger(__name__)

_COMMANDS = get_args(Intent)  # a person asked: a failure is answered to them in words


class Bus:
    """Runs every message Andon handles; one per engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def handle(
        self,
        message: object,
        actor: Actor,
        *,
        answered: threading.Event | None = None,
        delivery: Delivery | None = None,
    ) -> Any:
        """Run one message for one actor; whatever happens, the audit log has a row for it.

        A front that answers the person itself passes ``answered`` and sets it once it has: a
        deploy the command started waits for it, so the private reply comes before the
        deploy's channel messages. A front whose sender may send the message again passes its
        ``delivery`` key: it is recorded with the change, and a copy already handled is a
        ``Repeat``, not acted on (its front audits it)."""
        try:
            result = self._run(message, Call(actor, self._engine, answered, delivery))
        except RepeatError:
            return Repeat()
        except Exception:
            error_id = secrets.token_hex(4)
            log.exception("error %s while running %s for %s", error_id, message, actor.id)
            self._record_failure(message, actor, error_id)
            if isinstance(message, _COMMANDS):
                return Failure(error_id)
            raise
        self._engine.units.events.handled(message, result)
        return result

    def _run(self, message: object, call: Call) -> Any:
        handler = HANDLERS.get(type(message))
        if handler is None:
            raise TypeError(f"no handler for {message!r}")
        if handler.own_units:
            return handler.run(message, call)
        with call.unit() as work:
            work.remember_delivery()
            return handler.run(message, work)

    def _record_failure(self, message: object, actor: Actor, error_id: str) -> None:
        handler: Handler | None = HANDLERS.get(type(message))
        try:
            with self._engine.database.writing() as session:
                audit.record(
                    session,
                    clock=self._engine.clock,
                    actor=actor,
                    action=handler.action if handler is not None else help.ACTION,
                    outcome=Outcome.ERROR,
                    detail=repr(message),
                    message=f"error {error_id}",
                )
        except Exception:
            log.exception("could not record error %s in the audit log", error_id)
