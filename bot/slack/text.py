"""Text typed in Slack, as Andon keeps it: what the person meant, with the people they named.

Slack delivers slash-command text and messages encoded: ``&``, ``<``, ``>`` arrive as ``&amp;``,
``&lt;``, ``&gt;``; mentions, channels, broadcasts, links and dates arrive as ``<…>`` tokens.
Andon stores the plain text, so the API, the CLI and the terminal read ``p99 > 2s`` and not
``p99 &gt; 2s``. Person and channel mentions are kept as Slack's tokens (``<@U…|name>``,
``<#C…|name>``): the renderer re-renders them, live, from their ids. A broadcast becomes plain
``@channel`` and a link its label and address, so nothing a person typed can notify everyone
when Andon quotes it.
"""

import re

_TOKEN = re.compile(r"<([^<>]*)>")
# Nobody types a NUL (PostgreSQL cannot store one) or half a surrogate pair (no encoding can).
_UNTYPABLE = re.compile("[\x00\ud800-\udfff]")
_PERSON_OR_CHANNEL = re.compile(r"[@#][UWCG][A-Z0-9]{2,30}(?:\|[^<>]*)?")


def decoded(text: str) -> str:
    """Slack's encoding of typed text read back into the text the person typed."""
    out, last = [], 0
    for found in _TOKEN.finditer(text):
        out.append(_unescape(text[last : found.start()]))
        out.append(_token(found[1]))
        last = found.end()
    out.append(_unescape(text[last:]))
    return _UNTYPABLE.sub(lambda found: "" if found[0] == "\x00" else "\ufffd", "".join(out))


def _token(inner: str) -> str:
    if _PERSON_OR_CHANNEL.fullmatch(inner):
        return f"<{inner}>"
    target, _, label = inner.partition("|")
    if target.startswith("!"):
        return _special(target[1:], _unescape(label))
    address = _unescape(target)
    shown = _unescape(label)
    if address.startswith("mailto:"):
        return shown or address.removeprefix("mailto:")
    if not shown or shown == address:
        return address
    return f"{shown} ({address})"


def _special(name: str, label: str) -> str:
    """``<!here>``, ``<!subteam^S1|@devs>``, ``<!date^…|fallback>``: said, never live."""
    if name in ("channel", "here", "everyone"):
        return f"@{name}"
    if name.startswith("subteam^"):
        return label if label.startswith("@") else f"@{label or 'team'}"
    return label or f"@{name.split('^', 1)[0]}"


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
