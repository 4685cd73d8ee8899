"""What is live in a message Slack receives: the judgement of whether outside text in it can
notify, link or break the markup, applied to the calls the fake Slack recorded.

Slack reads ``&``, ``<`` and ``>`` in mrkdwn as markup. Every ``<…>`` token left must be one
Andon writes on purpose — a person or channel by id, a date, a link to a plain http(s) URL (and,
only where the caller says so, Andon's own ``<!here>``) — and no raw ``&``, ``<`` or ``>`` may
remain, so ``p99 > 2s`` arrives as ``p99 &gt; 2s`` and reads as typed.
"""

import re
from collections.abc import Iterator
from typing import Any

from bot.render.mrkdwn import USER_ID, safe_url

# the calls whose text a person reads: messages, their updates, answers and views
READ = frozenset(
    {
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "response_url",
        "views.open",
        "views.update",
        "views.publish",
    }
)

TOKEN = re.compile(r"<([^<>]*)>")
_DATE = re.compile(r"!date\^\d+\^\{date_short_pretty\} \{time\}\|[^|]*")
_ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")
_QUOTE = re.compile(r"^> ", re.MULTILINE)  # "> " opening a line is Andon's own blockquote
_CHANNEL_ID = re.compile(r"#[CG][A-Z0-9]{2,30}")


def texts(params: dict[str, Any]) -> Iterator[str]:
    """Every mrkdwn a person reads in a call: its top-level text and each mrkdwn text object of
    its blocks or view (plain_text is shown as written and is left out)."""
    if isinstance(params.get("text"), str):
        yield params["text"]
    for key in ("blocks", "view"):
        yield from _mrkdwn(params.get(key))


_MESSAGE_LINK = re.compile(r"andon-message:\d+\|[^<>|&]*")


def problems(text: str, *, here: bool = False) -> list[str]:
    """What in ``text`` is live or unescaped though Andon did not mean it; empty when inert."""
    found = []
    if _ENTITY.search(text):
        found.append(f"a raw & in {text[:200]!r}")
    quoted = _QUOTE.sub("", text)
    for token in TOKEN.finditer(quoted):
        if not allowed(token[1], here=here):
            found.append(f"<{token[1][:200]}> is live in {text[:300]!r}")
    rest = TOKEN.sub("", quoted)
    if "<" in rest or ">" in rest:
        found.append(f"a raw < or > in {text[:300]!r}")
    return found


def links(text: str) -> list[str]:
    """Where the links in ``text`` go (the target of each ``<url|label>`` or ``<url>``)."""
    return [token[1].partition("|")[0] for token in TOKEN.finditer(text) if "://" in token[1]]


def allowed(inner: str, *, here: bool = False) -> bool:
    """A token Andon writes on purpose: a person or channel by id, a date, a safe link."""
    if inner.startswith("@") and USER_ID.fullmatch(inner[1:]):
        return True
    if _CHANNEL_ID.fullmatch(inner) or _DATE.fullmatch(inner) or (here and inner == "!here"):
        return True
    if _MESSAGE_LINK.fullmatch(inner):  # the courier swaps it for a permalink or its label
        return True
    url, bar, label = inner.partition("|")
    return bool(bar) and safe_url(url.replace("&amp;", "&")) and "|" not in label


def _mrkdwn(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            yield str(node.get("text", ""))
        for value in node.values():
            yield from _mrkdwn(value)
    elif isinstance(node, list):
        for value in node:
            yield from _mrkdwn(value)
