"""What real Slack refuses, in one place: the fake Slack answers every call that breaks a rule
the way Slack does, so a message that would be lost in production fails a test here.

Each rule names the page of Slack's documentation it comes from:

- BLOCKS   https://api.slack.com/reference/block-kit/blocks  (each block type's limits)
- ELEMENTS https://api.slack.com/reference/block-kit/block-elements  (button)
- OBJECTS  https://api.slack.com/reference/block-kit/composition-objects  (text, confirm)
- SURFACES https://api.slack.com/surfaces  (50 blocks in a message, 100 in a modal or Home tab)
- POST     https://api.slack.com/methods/chat.postMessage  (``text`` ≤ 40,000: ``msg_too_long``;
           neither text nor blocks: ``no_text``; ``invalid_blocks``)
- VIEWS    https://api.slack.com/reference/surfaces/views  (modal title, submit, close,
           private_metadata, callback_id)
- FILES    https://api.slack.com/methods/files.completeUploadExternal  (``blocks``: the message
           the file is shared with, a JSON array; beside ``initial_comment`` they are ignored;
           a ``markdown`` block there is answered ``internal_error`` — slackapi/node-slack-sdk#2564)
- METADATA https://docs.slack.dev/messaging/message-metadata  (``metadata`` on chat.postMessage
           and chat.update: an ``event_type`` of letters, digits and underscores, 255 at most,
           and an ``event_payload`` object: ``invalid_metadata_format``)

and every block must also parse with slack_sdk's own models (``Block.parse(...).validate_json()``),
which encode most of the same limits.
"""

import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

MESSAGE_BLOCKS = 50  # SURFACES
VIEW_BLOCKS = 100  # SURFACES: modals and the Home tab
TEXT = 40_000  # POST: msg_too_long
SECTION_TEXT = 3_000  # BLOCKS: section.text
SECTION_FIELDS, FIELD_TEXT = 10, 2_000  # BLOCKS: section.fields
HEADER_TEXT = 150  # BLOCKS: header.text
CONTEXT_ELEMENTS = 10  # BLOCKS: context.elements
ACTIONS_ELEMENTS = 25  # BLOCKS: actions.elements
BUTTON_TEXT, BUTTON_VALUE, BUTTON_URL = 75, 2_000, 3_000  # ELEMENTS: button
ID = 255  # BLOCKS: block_id; ELEMENTS: action_id
CONFIRM = {"title": 100, "text": 300, "confirm": 30, "deny": 30}  # OBJECTS: confirm
VIEW_TITLE, VIEW_BUTTON, METADATA, CALLBACK = 24, 24, 3_000, 255  # VIEWS
INPUT_LABEL, INPUT_HINT, PLACEHOLDER, INITIAL = 2_000, 2_000, 150, 3_000  # BLOCKS: input
EVENT_TYPE, EVENT_TYPE_LENGTH = re.compile(r"^[a-zA-Z0-9_]+$"), 255  # METADATA
KNOWN = {"section", "context", "actions", "header", "divider", "input", "image", "rich_text"}


@dataclass(frozen=True)
class Refusal:
    """Slack's answer to a call it will not carry out: its error code and what it said."""

    error: str
    detail: str


def message(params: dict[str, Any]) -> Refusal | None:
    """chat.postMessage, chat.postEphemeral, chat.update and response_url bodies."""
    text, blocks = params.get("text"), params.get("blocks")
    if isinstance(blocks, str):
        return Refusal("invalid_blocks_format", "blocks must be a JSON array")
    if not text and not blocks and not params.get("attachments"):
        return Refusal("no_text", "a message needs text or blocks")
    if text is not None and len(str(text)) > TEXT:
        return Refusal("msg_too_long", f"text is {len(str(text)):,} characters (max {TEXT:,})")
    if params.get("metadata") is not None and (wrong := _metadata(params["metadata"])):
        return Refusal("invalid_metadata_format", wrong)
    if blocks:
        return _blocks(blocks, limit=MESSAGE_BLOCKS)
    return None


def _metadata(metadata: Any) -> str | None:
    """What is wrong with a message's metadata (METADATA), if anything."""
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            return "metadata is not JSON"
    if not isinstance(metadata, dict):
        return "metadata must be an object"
    kind = metadata.get("event_type")
    if not isinstance(kind, str) or not EVENT_TYPE.match(kind) or len(kind) > EVENT_TYPE_LENGTH:
        return f"event_type must be 1 to 255 letters, digits or underscores: {kind!r}"
    if not isinstance(metadata.get("event_payload"), dict):
        return "event_payload must be an object"
    return None


def file_share(params: dict[str, Any]) -> Refusal | None:
    """files.completeUploadExternal: the blocks of the message a file is shared with."""
    blocks = params.get("blocks")
    if blocks is None:
        return None
    if isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "markdown" for b in blocks
    ):
        return Refusal("internal_error", "a markdown block in a file's message (FILES)")
    return _blocks(blocks, limit=MESSAGE_BLOCKS)


def view(params: dict[str, Any], *, kind: str) -> Refusal | None:
    """views.open and views.publish: ``kind`` is ``modal`` or ``home``."""
    shown = params.get("view")
    if not isinstance(shown, dict) or shown.get("type") != kind:
        return Refusal("invalid_arguments", f"view must be an object of type {kind}")
    problems = list(_view_fields(shown))
    if problems:
        return Refusal("invalid_arguments", problems[0])
    return _blocks(shown.get("blocks") or [], limit=VIEW_BLOCKS)


def _view_fields(shown: dict[str, Any]) -> Iterator[str]:
    for name, limit in (("title", VIEW_TITLE), ("submit", VIEW_BUTTON), ("close", VIEW_BUTTON)):
        if name in shown and len(_text(shown[name])) > limit:
            yield f"view.{name} is over {limit} characters"
    if len(str(shown.get("private_metadata") or "")) > METADATA:
        yield f"view.private_metadata is over {METADATA} characters"
    if len(str(shown.get("callback_id") or "")) > CALLBACK:
        yield f"view.callback_id is over {CALLBACK} characters"


def _blocks(blocks: Any, *, limit: int) -> Refusal | None:
    if not isinstance(blocks, list):
        return Refusal("invalid_blocks_format", "blocks must be a JSON array")
    if len(blocks) > limit:
        return Refusal("invalid_blocks", f"{len(blocks)} blocks: no more than {limit} allowed")
    seen_actions: set[str] = set()
    seen_blocks: set[str] = set()
    for index, block in enumerate(blocks):
        problem = _block(block, seen_actions=seen_actions, seen_blocks=seen_blocks)
        if problem:
            return Refusal("invalid_blocks", f"blocks[{index}]: {problem}")
    return None


def _block(block: Any, *, seen_actions: set[str], seen_blocks: set[str]) -> str | None:
    if not isinstance(block, dict) or block.get("type") not in KNOWN:
        return f"unknown block {block!r:.80}"
    block_id = block.get("block_id")
    if block_id is not None:
        if len(str(block_id)) > ID:
            return f"block_id over {ID} characters"
        if block_id in seen_blocks:
            return f"block_id {block_id!r} already exists"
        seen_blocks.add(block_id)
    problem = _limits(block)
    if problem:
        return problem
    for element in _elements(block):
        action_id = element.get("action_id")
        if action_id is None:
            continue
        if len(str(action_id)) > ID:
            return f"action_id over {ID} characters"
        # Two buttons of one action id in a message are refused; inputs in blocks with their
        # own block ids (a modal's fields) are told apart by them, as view.state.values is.
        scoped = f"{block_id}/{action_id}" if block_id is not None else action_id
        if scoped in seen_actions or action_id in seen_actions:
            return f"action_id {action_id!r} already exists"
        seen_actions.add(scoped)
    return _parses(block)


def _limits(block: dict[str, Any]) -> str | None:
    match block["type"]:
        case "section":
            return _section(block)
        case "header":
            if len(_text(block.get("text"))) > HEADER_TEXT:
                return f"header text over {HEADER_TEXT} characters"
        case "context":
            elements = block.get("elements") or []
            if not elements or len(elements) > CONTEXT_ELEMENTS:
                return f"context has {len(elements)} elements (1 to {CONTEXT_ELEMENTS})"
            if any(len(_text(e)) > SECTION_TEXT for e in elements):
                return f"context text over {SECTION_TEXT} characters"
        case "actions":
            elements = block.get("elements") or []
            if not elements or len(elements) > ACTIONS_ELEMENTS:
                return f"actions has {len(elements)} elements (1 to {ACTIONS_ELEMENTS})"
        case "input":
            return _input(block)
    for element in _elements(block):
        problem = _element(element)
        if problem:
            return problem
    return None


def _section(block: dict[str, Any]) -> str | None:
    text, fields = block.get("text"), block.get("fields") or []
    if text is None and not fields:
        return "section needs text or fields"
    if text is not None and not _text(text):
        return "section text must not be empty"
    if len(_text(text)) > SECTION_TEXT:
        return f"section text is {len(_text(text)):,} characters (max {SECTION_TEXT:,})"
    if len(fields) > SECTION_FIELDS:
        return f"section has {len(fields)} fields (max {SECTION_FIELDS})"
    if any(len(_text(f)) > FIELD_TEXT for f in fields):
        return f"a section field is over {FIELD_TEXT:,} characters"
    return None


def _input(block: dict[str, Any]) -> str | None:
    if len(_text(block.get("label"))) > INPUT_LABEL:
        return f"input label over {INPUT_LABEL} characters"
    if len(_text(block.get("hint"))) > INPUT_HINT:
        return f"input hint over {INPUT_HINT} characters"
    element = block.get("element") or {}
    if len(_text(element.get("placeholder"))) > PLACEHOLDER:
        return f"placeholder over {PLACEHOLDER} characters"
    if len(str(element.get("initial_value") or "")) > INITIAL:
        return f"initial_value over {INITIAL} characters"
    return None


def _element(element: dict[str, Any]) -> str | None:
    if element.get("type") != "button":
        return None
    if not _text(element.get("text")) or len(_text(element.get("text"))) > BUTTON_TEXT:
        return f"button text must be 1 to {BUTTON_TEXT} characters"
    if len(str(element.get("value") or "")) > BUTTON_VALUE:
        return f"button value over {BUTTON_VALUE} characters"
    if len(str(element.get("url") or "")) > BUTTON_URL:
        return f"button url over {BUTTON_URL} characters"
    confirm = element.get("confirm")
    if confirm is not None:
        for name, limit in CONFIRM.items():
            if not _text(confirm.get(name)) and name in ("title", "text", "confirm", "deny"):
                return f"confirm.{name} is missing"
            if len(_text(confirm.get(name))) > limit:
                return f"confirm.{name} over {limit} characters"
    return None


def _elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    found = [e for e in block.get("elements") or [] if isinstance(e, dict)]
    for key in ("accessory", "element"):
        if isinstance(block.get(key), dict):
            found.append(block[key])
    return found


def _parses(block: dict[str, Any]) -> str | None:
    """slack_sdk's models hold most of Slack's rules too; what they refuse, Slack refuses."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = Block.parse(block)
            if parsed is None:
                return f"unknown block {block.get('type')!r}"
            parsed.validate_json()
    except (SlackObjectFormationError, KeyError, TypeError, ValueError) as error:
        return f"slack_sdk: {error}"
    return None


def _text(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text") or "")
    return "" if obj is None else str(obj)
