"""Build results as the CIs send them, signed as docs/ci.md says."""

import hashlib
import hmac
import json
import secrets
from typing import Any

import requests

from tests.harness import WEBHOOK_SECRET, AndonServer


def sha() -> str:
    return secrets.token_hex(20)


def generic(revision: str, status: str, **fields: Any) -> dict[str, Any]:
    return {"revision": revision, "branch": "main", "status": status, "pipeline": "tests", **fields}


def junit(*failures: tuple[str, str, str]) -> str:
    cases = "".join(
        f'<testcase classname="{cls}" name="{name}"><failure message="{msg}">trace</failure>'
        "</testcase>"
        for cls, name, msg in failures
    )
    return (
        f'<testsuite name="unit" tests="9">{cases}<testcase classname="ok" name="t"/></testsuite>'
    )


def signature(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(
    server: AndonServer,
    provider: str,
    payload: Any,
    *,
    headers: dict[str, str] | None = None,
    sign: bool = True,
    raw: bytes | None = None,
) -> requests.Response:
    body = raw if raw is not None else json.dumps(payload).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    if sign:
        header = "X-Hub-Signature-256" if provider == "github" else "X-Andon-Signature"
        sent[header] = signature(body)
    return requests.post(f"{server.url}/hooks/ci/{provider}", data=body, headers=sent, timeout=10)
