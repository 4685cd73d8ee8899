"""The requests ``ci_ingest.py`` sends: signed generic results (each one distinct, remembered),
signed GitHub deliveries it ignores, payloads it refuses, and ``GET /healthz``: the kinds of
request every phase sends alike.
"""

import json
import random
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from clients import Request, answer_json, healthz_request
from common import TIMEOUT_S

from tests.ci_payloads import signature
from tests.harness import AndonServer

PIPELINES = ("tests", "lint", "build")
FEATURE_BRANCHES = 16


def generic_result(n: int, *, revision: str, status: str, run_id: str, url: str) -> dict[str, Any]:
    """The ``n``-th generic CI payload the benches send: a feature branch, one of the pipelines."""
    return {
        "revision": revision,
        "branch": f"feature/bench-{n % FEATURE_BRANCHES:02d}",
        "status": status,
        "pipeline": PIPELINES[n % len(PIPELINES)],
        "run_id": run_id,
        "url": url,
        "duration_s": 60 + n % 240,
        "author_name": "Load Bench",
        "author_email": "bench@example.com",
        "subject": f"Bench commit {n}",
    }


KINDS = ("healthz", "rejected", "ignored", "result")


def signed_json(body: bytes, header: str) -> dict[str, str]:
    """A JSON body's headers, signed as the webhook named by ``header`` expects."""
    return {"Content-Type": "application/json", header: signature(body)}


@dataclass
class Sent:
    """A result that went out: its ``ci.result`` audit detail names it, and the phase it was in."""

    phase: str
    detail: str
    answer: dict[str, Any] | None = None


class Deliveries:
    """Builds the bodies, remembers every result sent, and counts the ignored deliveries."""

    def __init__(self, server: AndonServer) -> None:
        self.server = server
        self.sent: dict[str, Sent] = {}  # by short revision, unique over the run
        self.ignored_sent = 0
        self._lock = threading.Lock()
        self._random = random.Random(secrets.randbits(64))

    def _revision(self) -> str:
        """A random 40-hex revision whose 7-hex short form no earlier result had."""
        while True:
            revision = secrets.token_hex(20)
            if revision[:7] not in self.sent:
                return revision

    def results(self, phase: str, count: int) -> Request:
        """``count`` distinct passed or running results on feature branches, signed in advance."""
        bodies = []
        for n in range(count):
            revision = self._revision()
            status = self._random.choice(("passed", "running"))
            pipeline = PIPELINES[n % len(PIPELINES)]
            url = f"https://ci.example.com/{pipeline}/{phase}-{n}"
            payload = generic_result(
                n, revision=revision, status=status, run_id=f"{phase}-{n}", url=url
            )
            detail = f"{pipeline} {status} {revision[:7]} ({payload['branch']})"
            self.sent[revision[:7]] = Sent(phase, detail)
            body = json.dumps(payload).encode()
            bodies.append((body, signed_json(body, "X-Andon-Signature"), revision[:7]))
        url = self.server.url + "/hooks/ci/generic"

        def send(session: requests.Session, n: int) -> tuple[float, int, bool]:
            body, headers, short = bodies[n]
            started = time.perf_counter()
            answer = session.post(url, data=body, headers=headers, timeout=TIMEOUT_S)
            took = time.perf_counter() - started
            got = answer_json(answer)
            self.sent[short].answer = got
            ok = (
                answer.status_code == 200
                and isinstance(got.get("recorded"), int)
                and got.get("stopped_line") is False
            )
            return took, answer.status_code, ok

        return send

    def ignored(self) -> Request:
        """A GitHub ``pull_request`` ``labeled``: authenticated, answered 202, one audit row."""
        url = self.server.url + "/hooks/ci/github"

        def send(session: requests.Session, n: int) -> tuple[float, int, bool]:
            payload = {
                "action": "labeled",  # a pull request whose head did not move: answered, ignored
                "number": n + 1,
                "label": {"name": "bench"},
                "pull_request": {
                    "number": n + 1,
                    "state": "open",
                    "title": f"Bench change {n}",
                    "head": {"sha": secrets.token_hex(20), "ref": f"feature/bench-{n % 16}"},
                    "base": {"ref": "main"},
                    "user": {"login": "load-bench"},
                },
                "repository": {"full_name": "example/line"},
            }
            body = json.dumps(payload).encode()
            headers = {
                **signed_json(body, "X-Hub-Signature-256"),
                "X-GitHub-Event": "pull_request",
                "X-GitHub-Delivery": secrets.token_hex(16),
            }
            with self._lock:
                self.ignored_sent += 1
            started = time.perf_counter()
            answer = session.post(url, data=body, headers=headers, timeout=TIMEOUT_S)
            took = time.perf_counter() - started
            return (
                took,
                answer.status_code,
                answer.status_code == 202 and "ignored" in answer_json(answer),
            )

        return send

    def rejected(self) -> Request:
        """A signed generic payload whose ``status`` is wrong: 422, before any database work."""
        url = self.server.url + "/hooks/ci/generic"

        def send(session: requests.Session, n: int) -> tuple[float, int, bool]:
            payload = generic_result(
                n,
                revision=secrets.token_hex(20),
                status="exploded",
                run_id=f"rejected-{n}",
                url=f"https://ci.example.com/rejected-{n}",
            )
            body = json.dumps(payload).encode()
            headers = signed_json(body, "X-Andon-Signature")
            started = time.perf_counter()
            answer = session.post(url, data=body, headers=headers, timeout=TIMEOUT_S)
            took = time.perf_counter() - started
            return took, answer.status_code, answer.status_code == 422

        return send

    def healthz(self) -> Request:
        return healthz_request(self.server)

    def request(self, kind: str, phase: str, count: int) -> Request:
        if kind == "result":
            return self.results(phase, count)
        return {"healthz": self.healthz, "rejected": self.rejected, "ignored": self.ignored}[kind]()
