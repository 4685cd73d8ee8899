"""Bodies read the way every door reads them: bounded in depth, checked for text no database
stores, and refused in a sentence that names the problem and the field.

Each function here is meant for the thread pool (``run_in_threadpool``): parsing a body of
megabytes must not hold the event loop that answers Slack's acks.
"""

import json
import re
from urllib.parse import parse_qsl

MAX_DEPTH = 64  # the deepest real sender (Slack's rich text) nests about 15
# NUL: PostgreSQL refuses it in text. A lone surrogate (JSON's "\ud800"): no encoding carries it.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
FORM = "application/x-www-form-urlencoded"

Trail = tuple["Trail", str | int] | None  # the way from the body to a value, innermost last


class BadPayloadError(Exception):
    """A body no door can use: ``status`` 400 (not JSON, too deep) or 422 (a field's text)."""

    def __init__(self, status: int, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field

    def answer(self) -> dict[str, str]:
        """What a refused sender reads: FastAPI's ``detail``, and the field when there is one."""
        return {"detail": self.detail, **({"field": self.field} if self.field else {})}


def parsed_json(raw: bytes | bytearray | str, *, texts: bool = True) -> object:
    """The body as JSON, nested no deeper than ``MAX_DEPTH``, every text storable (unless
    ``texts`` is false: the caller keeps its texts its own way)."""
    try:
        value = json.loads(raw)
    except RecursionError as deep:
        raise BadPayloadError(400, f"the JSON is nested deeper than {MAX_DEPTH} levels") from deep
    except UnicodeDecodeError as bad:
        raise BadPayloadError(400, "the body is not JSON: it is not UTF-8 text") from bad
    except json.JSONDecodeError as bad:
        raise BadPayloadError(400, f"the body is not JSON: {bad}") from bad
    storable(value, texts=texts)
    return value


def form(raw: bytes | bytearray) -> dict[str, str]:
    """A form's fields as text (a notification script's easiest body), every text storable."""
    fields = dict(parse_qsl(bytes(raw).decode("latin-1"), keep_blank_values=True))
    storable(fields)
    return fields


def storable(value: object, *, texts: bool = True) -> None:
    """Refuse, naming the field, any text the database cannot store or a depth no sender sends.

    Walked without recursion, so a body nested a thousand deep is refused, not a crash."""
    pending: list[tuple[object, int, Trail]] = [(value, 0, None)]
    while pending:
        node, depth, trail = pending.pop()
        if isinstance(node, str):
            if texts:
                _text(node, trail)
        elif isinstance(node, dict | list):
            if depth >= MAX_DEPTH:
                raise BadPayloadError(
                    400, f"the JSON is nested deeper than {MAX_DEPTH} levels", field=_path(trail)
                )
            pairs = node.items() if isinstance(node, dict) else enumerate(node)
            for key, item in pairs:
                if texts and isinstance(key, str):
                    _text(key, (trail, key))
                pending.append((item, depth + 1, (trail, key)))


def storable_text(text: str) -> str:
    """A pydantic validator for a query parameter or a field FastAPI reads itself."""
    found = _UNSTORABLE.search(text)
    if found is not None:
        raise ValueError(_why(found[0]))
    return text


def _why(character: str) -> str:
    if character == "\x00":
        return "holds a NUL character, which no text Andon keeps may hold"
    return (
        f"holds a lone surrogate (\\u{ord(character):04x}), which is not a character: "
        "the text is not valid Unicode"
    )


def _text(text: str, trail: Trail) -> None:
    found = _UNSTORABLE.search(text)
    if found is None:
        return
    where = _path(trail) or "the body"
    raise BadPayloadError(422, f"{where} {_why(found[0])}", field=where)


def _path(trail: Trail) -> str:
    """``alerts[3].labels.alertname``: the field as the sender's documentation names it."""
    parts: list[str] = []
    while trail is not None:
        trail, key = trail
        parts.append(f"[{key}]" if isinstance(key, int) else "." + _shown(key))
    return "".join(reversed(parts)).removeprefix(".")


def _shown(key: str) -> str:
    """A key as it can be shown: unstorable characters escaped, a long key cut."""
    escaped = _UNSTORABLE.sub(lambda found: f"\\u{ord(found[0]):04x}", key)
    return escaped if len(escaped) <= 60 else escaped[:59] + "…"


def slack_body(raw: bytes | bytearray, content_type: str) -> None:
    """Refuse a signed body bolt could not read, by bolt's own rules (``parse_body``): JSON when
    the type says so or it starts with ``{``; else a form, whose ``payload`` field is JSON.

    Its texts are Slack's: what people typed is kept by ``bot.slack.text.decoded``."""
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as bad:
        raise BadPayloadError(400, "the body is not UTF-8 text") from bad
    if content_type.split(";")[0] == "application/json" or text.startswith("{"):
        _object(parsed_json(text, texts=False), "the body")
        return
    if "payload" not in text:  # a slash command's form: no field to read as JSON
        return
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in fields:
        _object(parsed_json(fields["payload"], texts=False), "payload")


def _object(value: object, what: str) -> None:
    if not isinstance(value, dict):
        field = None if what == "the body" else what
        raise BadPayloadError(400, f"{what} is not a JSON object", field=field)
