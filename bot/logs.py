"""Logging for every process; secret values are scrubbed from anything that reaches a log."""

import logging
import sys

from bot.settings.secrets import Scrubber


class ScrubSecrets(logging.Filter):
    """A token pasted into an exception message must still never reach the log."""

    def __init__(self, scrub: Scrubber) -> None:
        super().__init__()
        self._scrub = scrub

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._scrub:
            return True
        text = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._scrub(record.exc_text)
        record.msg, record.args = self._scrub(text), None
        return True


class DropKnownNoise(logging.Filter):
    """bolt warns that its token is unused because Andon hands it a client (built for
    ``SLACK_API_URL``); that is intended, and an operator should not have to wonder about it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def configure(scrub: Scrubber, *, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(DropKnownNoise())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ScrubSecrets(scrub))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("alembic", "apscheduler", "slack_bolt", "slack_sdk", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
