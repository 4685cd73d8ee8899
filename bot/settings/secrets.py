"""Andon's secrets never leave it: every configured secret, as written and in the encodings text
carries it in, is masked in whatever Andon logs, stores, posts or answers.

One scrubber, built from ``Settings.secrets()`` by the composition root, serves the log
(``bot.logs``), the database (``storage.database`` scrubs every row it writes) and the build's
jail (what a build printed). A secret is looked for as written, URL-encoded, JSON-escaped,
escaped for Slack's mrkdwn, in hex and in base64 — at any alignment, since a secret inside a
longer encoded text is encoded differently depending on what comes before it.
"""

import base64
import json
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus

MASK = "[secret]"
SHORTEST = 4  # shorter values are not secrets worth the name, and would mask ordinary words
_SHORTEST_ENCODED = 8  # a base64 fragment shorter than this matches ordinary text too often


class Scrubber:
    """``scrub(text)``: the text with every secret masked; without secrets, the text itself."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._spellings: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.learn(secrets)

    def learn(self, secrets: Iterable[str]) -> None:
        """Secrets read again (SIGHUP) are masked from now on, beside those known before: text
        written with an old one may still come back."""
        spellings = set(self._spellings)
        for secret in secrets:
            if len(secret) >= SHORTEST:
                spellings.add(secret)
                spellings |= {s for s in _encodings(secret) if len(s) >= _SHORTEST_ENCODED}
        if spellings == self._spellings:
            return
        ordered = sorted(spellings, key=len, reverse=True)  # the longest spelling wins
        self._spellings = spellings
        self._pattern = re.compile("|".join(map(re.escape, ordered)))  # one swap: thread-safe

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def __bool__(self) -> bool:
        return self._pattern is not None


def _encodings(secret: str) -> set[str]:
    raw = secret.encode()
    found = {
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        secret.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
        raw.hex(),
        raw.hex().upper(),
    }
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            found.add(_base64_core(raw, shift, encode))
    return found


def _base64_core(raw: bytes, shift: int, encode: Callable[[bytes], bytes]) -> str:
    """The base64 characters that depend on the secret alone when ``shift`` bytes precede it."""
    text = encode(b"\0" * shift + raw).decode()
    first = -(-8 * shift // 6)  # the first character with no bit of what came before
    last = 8 * (shift + len(raw)) // 6  # past the last character with no bit of what follows
    return text[first:last]
