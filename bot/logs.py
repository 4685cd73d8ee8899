"""Logging for every process; secret values are scrubbed from anything that reaches a log.

Two formats (``ANDON_LOG_FORMAT``): ``text``, a line a person reads, and ``json``, one JSON object
per line — ``timestamp``, ``level``, ``logger``, ``message`` and the fields an event carries
(``extra=``; ``bot.event_log``) — for a collector to index.
"""

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from bot.settings.secrets import Scrubber

FORMATS = ("text", "json")
TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# What every record carries; anything else on a record is a field its caller gave (``extra=``).
_STANDARD = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}  # uvicorn's coloured copy of the text


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields the caller gave the record (``extra=``), by name."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


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
        for name, value in fields(record).items():  # a stop's reason is anybody's text
            setattr(record, name, _scrubbed(value, self._scrub))
        return True


def _scrubbed(value: object, scrub: Scrubber) -> object:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list | tuple):
        return [_scrubbed(item, scrub) for item in value]
    return value


class DropKnownNoise(logging.Filter):
    """bolt warns that its token is unused because Andon hands it a client (built for
    ``SLACK_API_URL``); that is intended, and an operator should not have to wonder about it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


class JsonLines(logging.Formatter):
    """One JSON object per record, on one line: a newline in a message cannot forge another."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **fields(record),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(scrub: Scrubber, *, level: int = logging.INFO, form: str = "text") -> None:
    """The process's one handler, on stderr: ``form`` is ``text`` or ``json``."""
    if form not in FORMATS:
        raise ValueError(f"log format {form!r}: one of {', '.join(FORMATS)}")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(DropKnownNoise())
    handler.setFormatter(JsonLines() if form == "json" else logging.Formatter(TEXT))
    handler.addFilter(ScrubSecrets(scrub))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("alembic", "apscheduler", "slack_bolt", "slack_sdk", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
