"""Who may post to Andon's webhooks: the raw body is checked against the shared secret first.

GitHub signs (``X-Hub-Signature-256``), GitLab sends the secret as ``X-Gitlab-Token``; every
provider may also sign with ``X-Andon-Signature: sha256=<hex>`` or, for senders that cannot sign,
send ``Authorization: Bearer <secret>`` or basic auth with the secret as password.
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping

Check = Callable[[Mapping[str, str], bytes, bytes], bool]


def authenticated(
    provider: str, headers: Mapping[str, str], raw: bytes, secret: str | None
) -> bool:
    """Whether the request proves it knows the secret; an unset secret lets nobody in."""
    if not secret:
        return False
    given = {name.lower(): value for name, value in headers.items()}
    key = secret.encode()
    checks: list[Check] = [*_OWN.get(provider, ()), _andon_signature, _bearer, _basic]
    return any(check(given, raw, key) for check in checks)


def claimed(provider: str, headers: Mapping[str, str]) -> bool:
    """Whether the request carries any credential at all: one that carries none is refused
    before a byte of its body is read."""
    given = {name.lower() for name in headers}
    return any(name in given for name in (*_OWN_HEADERS.get(provider, ()), *_HEADERS))


def _github(headers: Mapping[str, str], raw: bytes, key: bytes) -> bool:
    return _signed(headers.get("x-hub-signature-256"), raw, key)


def _gitlab(headers: Mapping[str, str], raw: bytes, key: bytes) -> bool:
    return _same(headers.get("x-gitlab-token"), key)


def _andon_signature(headers: Mapping[str, str], raw: bytes, key: bytes) -> bool:
    return _signed(headers.get("x-andon-signature"), raw, key)


def _bearer(headers: Mapping[str, str], raw: bytes, key: bytes) -> bool:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and _same(token.strip(), key)


def _basic(headers: Mapping[str, str], raw: bytes, key: bytes) -> bool:
    scheme, _, encoded = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    _, colon, password = decoded.partition(b":")
    return bool(colon) and hmac.compare_digest(password, key)


def _signed(header: str | None, raw: bytes, key: bytes) -> bool:
    if header is None or not header.startswith("sha256="):
        return False
    expected = hmac.new(key, raw, hashlib.sha256).hexdigest()
    return _same(header.removeprefix("sha256=").strip().lower(), expected.encode())


def _same(given: str | None, expected: bytes) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected)


_OWN: dict[str, tuple[Check, ...]] = {"github": (_github,), "gitlab": (_gitlab,)}
_OWN_HEADERS = {"github": ("x-hub-signature-256",), "gitlab": ("x-gitlab-token",)}
_HEADERS = ("x-andon-signature", "authorization")
