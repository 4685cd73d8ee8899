"""Where a stored green CI result spends ``andon serve``'s CPU, beside ``GET /healthz``'s.

The same FastAPI app ``andon serve`` builds (``bench/slash_profile.py``'s ``built``), called as
ASGI in this process, one request after the other, with the requests ``bench/ci_ingest.py``
sends: distinct signed generic results, passed or running on feature branches (stored and
audited, nothing announced). CPU per request of the whole process, then under ``cProfile``.

    .venv/bin/python bench/ci_profile.py [--database sqlite|postgresql] [--requests 2000]
"""

import json
import secrets
import sys

from ci_deliveries import generic_result
from common import progress
from slash_profile import Ask, Request, healthz_ask, profile_main

from tests.ci_payloads import signature
from tests.fakes.slack import FakeSlack

say = progress("ci_profile")


def result_ask(n: int) -> Request:
    """A distinct green result on a feature branch, signed."""
    payload = generic_result(
        n,
        revision=secrets.token_hex(20),
        status=("passed", "running")[n % 2],
        run_id=f"p-{secrets.token_hex(4)}-{n}",
        url=f"https://ci.example.com/p/{n}",
    )
    body = json.dumps(payload).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"x-andon-signature", signature(body).encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    return "POST", "/hooks/ci/generic", headers, body


def main(argv: list[str] | None = None) -> int:
    def asks(_slack: FakeSlack) -> dict[str, tuple[Ask, bytes]]:
        return {"healthz": (healthz_ask, b'"ok"'), "result": (result_ask, b'"recorded"')}

    return profile_main(asks, doc=__doc__ or "", argv=argv, profiled=0, top=40, say=say)


if __name__ == "__main__":
    sys.exit(main())
