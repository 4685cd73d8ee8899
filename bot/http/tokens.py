"""Doors a person opens in a browser (``/docs``, ``/openapi.json``, ``/metrics``): the token is
accepted as a bearer header or as the password of HTTP basic auth, so a browser asks for it."""

import base64
import binascii
import hmac
from collections.abc import Callable

from fastapi import HTTPException, Request

CHALLENGE = {"WWW-Authenticate": 'Basic realm="andon"'}


def bearer_or_basic(token: str | None, *, variable: str) -> Callable[[Request], None]:
    """The dependency that guards such a door; ``token=None`` closes it (401) and says why."""

    def authorised(request: Request) -> None:
        if not token:
            raise HTTPException(401, f"closed: {variable} is not set on the server")
        if not _given(request.headers.get("authorization", ""), token.encode()):
            raise HTTPException(401, f"missing or wrong token ({variable})", CHALLENGE)

    return authorised


def _given(header: str, token: bytes) -> bool:
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return hmac.compare_digest(value.strip().encode(), token)
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    _, colon, password = decoded.partition(b":")
    return bool(colon) and hmac.compare_digest(password, token)
