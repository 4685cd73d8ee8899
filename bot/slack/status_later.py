"""``/deploy status`` of a big environment: answered at once, the hosts asked in the background.

Slack waits three seconds for a slash command's answer; asking 500 hosts what they run takes
longer than that. So past ``ASK_LATER`` hosts the answer is "checking 500 hosts…", and the
result replaces it through the command's ``response_url`` once every host has answered (or
could not). At most ``CHECKS_AT_ONCE`` such checks ask hosts at the same time.
"""

import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_bolt import Respond

from bot.andon import Andon
from bot.intents.typed import Intent, ShowDeploys
from bot.render import fleet
from bot.render.kit import Message, message, plain, section
from bot.render.reply import reply
from core.actor import Actor

log = logging.getLogger(__name__)

ASK_LATER = fleet.FLEET  # more hosts than this are asked in the background
CHECKS_AT_ONCE = 2

_checks = threading.BoundedSemaphore(CHECKS_AT_ONCE)


def hosts_to_ask(andon: Andon, intent: Intent) -> int:
    """How many hosts a ``/deploy status`` asks; 0 for every other command (or a name that is
    not an environment: refused at once, as always)."""
    if not isinstance(intent, ShowDeploys):
        return 0
    environments = andon.config.environments
    if intent.environment is not None:
        env = environments.get(intent.environment)
        return len(env.hosts) if env is not None else 0
    return sum(len(env.hosts) for env in environments.values())


def checking(count: int, intent: Intent) -> Message:
    """The answer given at once."""
    environment = intent.environment if isinstance(intent, ShowDeploys) else None
    text = fleet.checking(count, environment)
    return message(plain(text), section(text))


def answer_later(andon: Andon, intent: Intent, actor: Actor, respond: Respond) -> None:
    """Ask the hosts in a thread of its own, then replace the first answer with theirs."""
    threading.Thread(
        target=_ask, args=(andon.execute, intent, actor, respond), name="andon-status", daemon=True
    ).start()


def _ask(
    execute: Callable[[Intent, Actor], Any], intent: Intent, actor: Actor, respond: Respond
) -> None:
    with _checks:
        result = execute(intent, actor)
    try:
        respond(response_type="ephemeral", replace_original=True, **reply(result))
    except Exception:
        log.exception("could not answer /deploy status through its response_url")
