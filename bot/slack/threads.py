"""Messages in channels the bot is in: a person's reply in a stoppage's thread feeds its five
whys — posted plainly, with "Also send to channel" (``thread_broadcast``) or with a file
(``file_share``: its comment is the reply). An edit of a reply (``message_changed``) reaches the
five whys too, which corrects the answer it gave. Everything else — bots, Andon's own messages,
deletions, joins, messages outside threads — is ignored (but acknowledged, so Slack does not
retry it). A reaction on a reply (``reaction_added``) may pin it as the open why's answer. Text is
decoded at this door: core keeps what the person typed. What Andon hears carries the event's key,
recorded with what it changes (``bot.slack.retries``)."""

from typing import Any

from slack_bolt import App

from bot.andon import Andon
from bot.bus.events import ThreadPlace
from bot.slack import retries
from bot.slack.text import decoded
from core.actor import Actor

# What a person's message in a thread may be: a plain reply, one also sent to the channel, or
# one with files.
_SAID = frozenset({None, "thread_broadcast", "file_share"})


def register(app: App, andon: Andon) -> None:
    @app.event("message")
    def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        subtype = event.get("subtype")
        if subtype == "message_changed":
            heard = _edited(andon, event, body)
        elif subtype in _SAID and _a_persons_reply(event):
            heard = _said(andon, event, body)
        else:
            return
        retries.not_acted_on(andon, body, heard)

    @app.event("reaction_added")
    def on_reaction(event: dict[str, Any], body: dict[str, Any]) -> None:
        item = event.get("item") or {}
        if item.get("type") == "message" and item.get("ts") and event.get("user"):
            heard = andon.adopt(
                _person(str(event["user"])),
                message=str(item["ts"]),
                reaction=str(event.get("reaction") or ""),
                delivery=retries.request_key(body),
            )
            retries.not_acted_on(andon, body, heard)


def _said(andon: Andon, event: dict[str, Any], body: dict[str, Any]) -> object:
    text = decoded(str(event.get("text") or ""))
    files = bool(event.get("files"))
    if not text.strip() and not files:
        return None
    return andon.hear(
        _place(event.get("channel"), event),
        _person(str(event["user"])),
        text,
        message=str(event["ts"]),
        files=files,
        delivery=retries.request_key(body),
    )


def _edited(andon: Andon, event: dict[str, Any], body: dict[str, Any]) -> object:
    """Slack says the whole message again; an edit of its words is what may change an answer
    (an unfurled link or a new reply count changes the message but not its text)."""
    message = event.get("message")
    if not isinstance(message, dict) or message.get("subtype") not in _SAID:
        return None
    if not _a_persons_reply(message):
        return None
    previous = event.get("previous_message")
    if isinstance(previous, dict) and previous.get("text") == message.get("text"):
        return None
    editor = (message.get("edited") or {}).get("user") or message["user"]
    return andon.hear_edit(
        _place(event.get("channel"), message),
        _person(str(editor)),
        decoded(str(message.get("text") or "")),
        message=str(message["ts"]),
        delivery=retries.request_key(body),
    )


def _a_persons_reply(message: dict[str, Any]) -> bool:
    if message.get("bot_id") or not message.get("user"):
        return False
    thread = message.get("thread_ts")
    return bool(thread) and thread != message.get("ts") and bool(message.get("ts"))


def _place(channel: object, message: dict[str, Any]) -> ThreadPlace:
    return ThreadPlace(
        channel=str(channel) if channel else None, thread_ts=str(message["thread_ts"])
    )


def _person(user: str) -> Actor:
    return Actor(id=user, name=user, via="slack")
