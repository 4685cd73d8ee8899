"""Outside text is data, never markup: the one way a value Andon did not write reaches Slack.

Slack reads ``&``, ``<`` and ``>`` as markup: ``<!channel>`` notifies everyone, ``<url|label>`` is
a link whose label may lie about where it goes. A reason, an answer, a commit subject, a test
name, an alert label or a URL from a payload goes through ``inert`` (or ``said``, ``link``) before
it is placed in a message; what Andon writes itself (emoji, bold, its own ``@here``) stays live.
"""

import re

from core.actor import Actor

_BROADCAST = re.compile(
    r"<!(?P<word>channel|here|everyone)(?:\|[^<>]*)?>|<!subteam\^[A-Za-z0-9]+(?:\|(?P<team>[^<>]*))?>"
)
# People and channels as Slack encodes them in text typed in Slack: kept live, re-rendered by id.
_PERSON = re.compile(r"<@(?P<user>[UW][A-Z0-9]{2,30})(?:\|[^<>]*)?>")
_CHANNEL = re.compile(r"<#(?P<channel>[CG][A-Z0-9]{2,30})(?:\|[^<>]*)?>")
_SAFE_URL = re.compile(r"https?://[^\s|<>\x00-\x1f\x7f]+", re.IGNORECASE)
USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")
MAX_URL = 3000


def inert(value: object) -> str:
    """Outside text shown as written: nothing in it can notify, link or format as markup.

    Broadcast mentions read as plain ``@channel``; ``&``, ``<``, ``>`` are escaped, so Slack
    shows them as the characters they are.
    """
    text = _BROADCAST.sub(_spelled, str(value))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def said(value: object, by: Actor) -> str:
    """What a person typed: from Slack, the people and channels they mentioned stay mentioned
    (re-rendered from their ids); from any other door, nothing is live."""
    text = str(value)
    if not by.is_slack_user:
        return inert(text)
    out, last = [], 0
    for found in _MENTIONS.finditer(text):
        out.append(inert(text[last : found.start()]))
        out.append(f"<@{found['user']}>" if found["user"] else f"<#{found['channel']}>")
        last = found.end()
    out.append(inert(text[last:]))
    return "".join(out)


def link(url: object, label: str) -> str:
    """A link Andon builds: only to an absolute http(s) URL that cannot close the link early;
    anything else is shown as text, never followed."""
    address = str(url or "")
    if safe_url(address):
        return f"<{address.replace('&', '&amp;')}|{inert(label).replace('|', '¦')}>"
    if not address:
        return inert(label)
    return f"{inert(label)} ({inert(address)})"


def safe_url(url: str) -> bool:
    return len(url) <= MAX_URL and _SAFE_URL.fullmatch(url) is not None


def mention(user: str) -> str:
    """A chat user Andon knows by id; anything that is not a Slack user id is a name."""
    return f"<@{user}>" if USER_ID.fullmatch(user) else f"*{inert(user)}*"


def who(actor: Actor) -> str:
    """A Slack user is mentioned; anyone else (the CLI, the terminal, a pusher) is named."""
    if actor.is_slack_user and USER_ID.fullmatch(actor.id):
        return f"<@{actor.id}>"
    return f"*{inert(actor.name or actor.id)}*"


def named(actor: Actor) -> str:
    """A person by name, for a notification's text: the blocks mention them already."""
    return inert(actor.name or actor.id)


_MENTIONS = re.compile(f"{_PERSON.pattern}|{_CHANNEL.pattern}")


def _spelled(found: re.Match[str]) -> str:
    if found["word"]:
        return f"@{found['word']}"
    team = (found["team"] or "").lstrip("@")
    return f"@{team or 'team'}"
