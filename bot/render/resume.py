"""The answer to ``/deploy resume`` when no deploy waits to be continued."""

from bot.render.kit import Message, message, section
from bot.render.mrkdwn import inert
from core.deploy.resumable import NothingToResume


def nothing(result: NothingToResume) -> Message:
    said = inert(result.sentence)
    return message(said, section(f":information_source: {said}"))
