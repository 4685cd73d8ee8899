"""Logging for every process; secret values are scrubbed from anything that reaches a log."""

import logging
import sys


class ScrubSecrets(logging.Filter):
    """A token pasted into an exception message must still never reach the log."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        text = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for secret in self._secrets:
            text = text.replace(secret, "[secret]")
            if record.exc_text:
                record.exc_text = record.exc_text.replace(secret, "[secret]")
        record.msg, record.args = text, None
        return True


class DropKnownNoise(logging.Filter):
    """bolt warns that its token is unused because Andon hands it a client (built for
    ``SLACK_API_URL``); that is intended, and an operator should not have to wonder about it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def configure(secrets: list[str], *, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(DropKnownNoise())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ScrubSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("alembic", "apscheduler", "slack_bolt", "slack_sdk", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
