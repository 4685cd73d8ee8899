"""Fake GitHub and GitLab commit status APIs: real HTTP servers on loopback that check each request
as the forges document it, record it, and can be told to fail (5xx) to play an outage.

GitHub, "Create a commit status": ``POST {api}/repos/{owner}/{repo}/statuses/{sha}``, headers
``Accept: application/vnd.github+json``, ``Authorization: Bearer <token>``,
``X-GitHub-Api-Version: 2022-11-28``; JSON body ``state`` (error|failure|pending|success,
required), ``target_url``, ``description``, ``context``; answers 201.

GitLab, "Set the pipeline status of a commit": ``POST {api}/projects/:id/statuses/:sha`` with the
``PRIVATE-TOKEN`` header; parameters (query string, form or JSON) ``state``
(pending|running|success|failed|canceled|skipped, required), ``ref``, ``name`` or ``context``,
``target_url``, ``description``, ``coverage``, ``pipeline_id``; answers 201.
"""

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlparse

SHA = r"[0-9a-f]{40}"


@dataclass(frozen=True)
class Status:
    """One request that reached the fake, and what it answered."""

    project: str
    sha: str
    params: dict[str, Any]
    answered: int


class BadRequestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class FakeForge:
    """The HTTP plumbing both fakes share; a subclass reads a request as (project, sha, params)."""

    prefix = ""

    def __init__(self, *, token: str) -> None:
        self.token = token
        self.problems: list[str] = []  # requests that did not follow the forge's documentation
        self._statuses: list[Status] = []
        self._faults: list[tuple[int, str | None]] = []  # (status, only for this sha)
        self._lock = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeForge":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.prefix}"

    # --- what tests look at ------------------------------------------------------------------

    def statuses(self, sha: str | None = None) -> list[Status]:
        with self._lock:
            return [s for s in self._statuses if sha is None or s.sha == sha]

    def wait_for(
        self, where: Callable[[Status], bool], *, count: int = 1, timeout: float = 20.0
    ) -> list[Status]:
        """Wait until ``count`` accepted statuses match; return them (never a fixed sleep)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [s for s in self._statuses if s.answered == 201 and where(s)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(s.sha[:7], s.params, s.answered) for s in self._statuses]
                    raise AssertionError(f"no {count} matching status in {timeout}s; saw {seen}")
                self._lock.wait(left)

    def fail(self, status: int, *, sha: str | None = None) -> None:
        """Answer the next request (for ``sha``) with ``status``, once."""
        with self._lock:
            self._faults.append((status, sha))

    # --- the server --------------------------------------------------------------------------

    def read(
        self, path: str, query: str, headers: Any, body: bytes
    ) -> tuple[str, str, dict[str, Any]]:
        raise NotImplementedError

    def _answer(self, method: str, target: str, headers: Any, body: bytes) -> tuple[int, dict]:
        url = urlparse(target)
        try:
            if method != "POST":
                raise BadRequestError(405, f"{method} {url.path}: only POST creates a status")
            project, sha, params = self.read(url.path, url.query, headers, body)
        except BadRequestError as bad:
            with self._lock:
                self.problems.append(f"{method} {target}: {bad}")
                self._lock.notify_all()
            return bad.status, {"message": str(bad)}
        with self._lock:
            fault = next((f for f in self._faults if f[1] in (None, sha)), None)
            if fault is not None:
                self._faults.remove(fault)
            answered = fault[0] if fault else 201
            self._statuses.append(Status(project, sha, params, answered))
            self._lock.notify_all()
        if fault:
            return answered, {"message": "Server Error"}
        return 201, {"id": len(self._statuses), "sha": sha, **params}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, answer = fake._answer(self.command, self.path, self.headers, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET = do_PUT = do_PATCH = _any  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        return Handler


class FakeGitHub(FakeForge):
    prefix = "/api/v3"  # a GitHub Enterprise Server's API base
    STATES = frozenset({"error", "failure", "pending", "success"})
    KEYS = frozenset({"state", "target_url", "description", "context"})

    def read(
        self, path: str, query: str, headers: Any, body: bytes
    ) -> tuple[str, str, dict[str, Any]]:
        found = re.fullmatch(rf"{self.prefix}/repos/([^/]+)/([^/]+)/statuses/({SHA})", path)
        if found is None:
            raise BadRequestError(404, f"no such endpoint {path}")
        expected = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self.token}",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        for name, value in expected.items():
            if headers.get(name) != value:
                raise BadRequestError(401 if name == "Authorization" else 400, f"{name} is wrong")
        if not (headers.get("Content-Type") or "").startswith("application/json"):
            raise BadRequestError(415, "the body must be JSON")
        params = _json_object(body)
        if set(params) - self.KEYS:
            raise BadRequestError(422, f"unknown fields {sorted(set(params) - self.KEYS)}")
        if params.get("state") not in self.STATES:
            raise BadRequestError(422, f"state {params.get('state')!r} is not one of {self.STATES}")
        for key in ("description", "context", "target_url"):
            if key in params and not isinstance(params[key], str):
                raise BadRequestError(422, f"{key} must be a string")
        if len(params.get("description", "")) > 140:
            raise BadRequestError(422, "description is longer than 140 characters")
        owner, repo = unquote(found[1]), unquote(found[2])
        return f"{owner}/{repo}", found[3], params


class FakeGitLab(FakeForge):
    prefix = "/api/v4"
    STATES = frozenset({"pending", "running", "success", "failed", "canceled", "skipped"})
    KEYS = frozenset(
        {"state", "ref", "name", "context", "target_url", "description", "coverage", "pipeline_id"}
    )

    def read(
        self, path: str, query: str, headers: Any, body: bytes
    ) -> tuple[str, str, dict[str, Any]]:
        found = re.fullmatch(rf"{self.prefix}/projects/([^/]+)/statuses/({SHA})", path)
        if found is None:
            raise BadRequestError(404, f"no such endpoint {path}")
        if headers.get("PRIVATE-TOKEN") != self.token:
            raise BadRequestError(401, "401 Unauthorized")
        params: dict[str, Any] = dict(parse_qsl(query))
        kind = headers.get("Content-Type") or ""
        if body and kind.startswith("application/json"):
            params.update(_json_object(body))
        elif body and kind.startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(body.decode()))
        elif body:
            raise BadRequestError(415, f"cannot read a {kind or 'typeless'} body")
        if set(params) - self.KEYS:
            raise BadRequestError(400, f"unknown parameters {sorted(set(params) - self.KEYS)}")
        if params.get("state") not in self.STATES:
            raise BadRequestError(400, "state does not have a valid value")
        return unquote(found[1]), found[2], params


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError as bad:
        raise BadRequestError(400, "Problems parsing JSON") from bad
    if not isinstance(value, dict):
        raise BadRequestError(400, "the body must be a JSON object")
    return value
