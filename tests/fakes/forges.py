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

Deployments, as the forges document them:

GitHub, "Create a deployment": ``POST {api}/repos/{owner}/{repo}/deployments``, JSON ``ref``
(required: branch, tag or sha), ``task``, ``auto_merge`` (default true: GitHub merges the default
branch into the ref first), ``required_contexts`` (omitted: every status context must be success,
else 409), ``payload``, ``environment`` (default production), ``description``,
``transient_environment``, ``production_environment``; answers 201 with the deployment (``id``).
"Create a deployment status": ``POST …/deployments/{deployment_id}/statuses``, ``state``
(error|failure|inactive|in_progress|queued|pending|success, required), ``target_url``, ``log_url``,
``description`` (at most 140 characters), ``environment``, ``environment_url``, ``auto_inactive``;
answers 201, 404 for a deployment it does not know. The fake is stricter than GitHub where Andon
must be: ``environment`` is required (GitHub would say production) and ``auto_merge`` must be false.

GitLab, "Create a deployment": ``POST {api}/projects/:id/deployments``, ``environment``, ``sha``,
``ref``, ``tag`` and ``status`` (running|success|failed|canceled) all required (400 "<name> is
missing"); answers 201 with the deployment (``id``, ``iid``). "Update a deployment":
``PUT …/deployments/:deployment_id`` with ``status``; answers 200.
"""

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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


@dataclass
class FakeDeployment:
    """One deployment the fake created, and every state it was moved to since (in order)."""

    id: int
    project: str
    params: dict[str, Any]
    states: list[str] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Call:
    """One deployments request that reached the fake, and what it answered."""

    method: str
    path: str
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
        self._deployments: dict[int, FakeDeployment] = {}
        self.calls: list[Call] = []  # every deployments request, answered or not
        self._down: int | None = None  # while set, every request is answered with it
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

    def down(self, status: int = 503) -> None:
        """The forge is down: every request is answered ``status`` until ``up``."""
        with self._lock:
            self._down = status

    def up(self) -> None:
        with self._lock:
            self._down = None

    def deployments(self, environment: str | None = None) -> list[FakeDeployment]:
        with self._lock:
            found = sorted(self._deployments.values(), key=lambda d: d.id)
            return [d for d in found if environment in (None, d.params.get("environment"))]

    def wait_for_deployments(
        self, where: Callable[[FakeDeployment], bool], *, count: int = 1, timeout: float = 30.0
    ) -> list[FakeDeployment]:
        """Wait until ``count`` deployments match (never a fixed sleep); return them."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [d for d in sorted(self._deployments.values(), key=lambda d: d.id)]
                found = [d for d in found if where(d)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(d.id, d.params, d.states) for d in self._deployments.values()]
                    raise AssertionError(f"no {count} matching deployment in {timeout}s; {seen}")
                self._lock.wait(left)

    def wait_for_calls(self, where: Callable[[Call], bool], *, count: int = 1) -> list[Call]:
        deadline = time.monotonic() + 30.0
        with self._lock:
            while len(found := [c for c in self.calls if where(c)]) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"no {count} matching calls; saw {self.calls}"
                self._lock.wait(left)
            return found

    # --- the server --------------------------------------------------------------------------

    def read(
        self, path: str, query: str, headers: Any, body: bytes
    ) -> tuple[str, str, dict[str, Any]]:
        raise NotImplementedError

    def deployment(
        self, method: str, path: str, params: dict[str, Any], headers: Any
    ) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError

    def request_params(self, query: str, headers: Any, body: bytes) -> dict[str, Any]:
        raise NotImplementedError

    def _created(self, project: str, params: dict[str, Any]) -> FakeDeployment:
        """Called with the lock held."""
        made = FakeDeployment(len(self._deployments) + 1, project, params)
        self._deployments[made.id] = made
        return made

    def _known(self, project: str, forge_id: str) -> FakeDeployment:
        """Called with the lock held."""
        found = self._deployments.get(int(forge_id))
        if found is None or found.project != project:
            raise BadRequestError(404, "Not Found")
        return found

    def _answer(self, method: str, target: str, headers: Any, body: bytes) -> tuple[int, dict]:
        url = urlparse(target)
        with self._lock:
            down = self._down
        if "/deployments" in url.path:
            return self._deployment_answer(method, url.path, url.query, headers, body, down)
        if down is not None:
            return down, {"message": "Service Unavailable"}
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

    def _deployment_answer(
        self, method: str, path: str, query: str, headers: Any, body: bytes, down: int | None
    ) -> tuple[int, dict]:
        params: dict[str, Any] = {}
        try:
            params = self.request_params(query, headers, body)
            if down is not None:
                status, answer = down, {"message": "Service Unavailable"}
            else:
                with self._lock:
                    status, answer = self.deployment(method, path, params, headers)
        except BadRequestError as bad:
            status, answer = bad.status, {"message": str(bad)}
            with self._lock:
                self.problems.append(f"{method} {path}: {bad}")
        with self._lock:
            self.calls.append(Call(method, path, params, status))
            self._lock.notify_all()
        return status, answer

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
        params = self.request_params(query, headers, body)
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

    def request_params(self, query: str, headers: Any, body: bytes) -> dict[str, Any]:
        """GitHub's headers checked, and the JSON body read."""
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
        return _json_object(body)

    DEPLOYMENT_KEYS = frozenset(
        {
            "ref",
            "task",
            "auto_merge",
            "required_contexts",
            "payload",
            "environment",
            "description",
            "transient_environment",
            "production_environment",
        }
    )
    DEPLOYMENT_STATES = frozenset(
        {"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}
    )
    STATUS_KEYS = frozenset(
        {
            "state",
            "target_url",
            "log_url",
            "description",
            "environment",
            "environment_url",
            "auto_inactive",
        }
    )

    def deployment(
        self, method: str, path: str, params: dict[str, Any], headers: Any
    ) -> tuple[int, dict[str, Any]]:
        repo = rf"{self.prefix}/repos/([^/]+)/([^/]+)/deployments"
        created = re.fullmatch(repo, path)
        status = re.fullmatch(rf"{repo}/(\d+)/statuses", path)
        if method != "POST" or (created or status) is None:
            raise BadRequestError(404, f"no such endpoint {method} {path}")
        found = created or status
        assert found is not None
        project = f"{unquote(found[1])}/{unquote(found[2])}"
        if created:
            return 201, self._create(project, params)
        return 201, self._status(project, found[3], params)

    def _create(self, project: str, params: dict[str, Any]) -> dict[str, Any]:
        if set(params) - self.DEPLOYMENT_KEYS:
            raise BadRequestError(
                422, f"unknown fields {sorted(set(params) - self.DEPLOYMENT_KEYS)}"
            )
        for key in ("ref", "environment"):
            if not isinstance(params.get(key), str) or not params[key]:
                raise BadRequestError(422, f'Invalid request.\n\n"{key}" wasn\'t supplied.')
        for key in ("auto_merge", "transient_environment", "production_environment"):
            if key in params and not isinstance(params[key], bool):
                raise BadRequestError(422, f"{key} must be a boolean")
        contexts = params.get("required_contexts")
        if contexts is None:
            raise BadRequestError(
                409, f"Conflict: Commit status checks failed for {params['ref']}."
            )
        if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
            raise BadRequestError(422, "required_contexts must be an array of strings")
        if params.get("auto_merge", True) is not False:
            raise BadRequestError(422, "auto_merge would merge the default branch into the ref")
        made = self._created(project, params)
        return {
            "url": f"{self.api}/repos/{project}/deployments/{made.id}",
            "id": made.id,
            "node_id": f"DE_{made.id}",
            "sha": params["ref"],
            "ref": params["ref"],
            "task": params.get("task", "deploy"),
            "payload": params.get("payload", {}),
            "environment": params["environment"],
            "description": params.get("description"),
            "creator": {"login": "andon-bot", "id": 1},
            "created_at": "2026-12-09T10:00:00Z",
            "updated_at": "2026-12-09T10:00:00Z",
            "statuses_url": f"{self.api}/repos/{project}/deployments/{made.id}/statuses",
            "repository_url": f"{self.api}/repos/{project}",
            "transient_environment": params.get("transient_environment", False),
            "production_environment": params.get(
                "production_environment", params["environment"] == "production"
            ),
        }

    def _status(self, project: str, forge_id: str, params: dict[str, Any]) -> dict[str, Any]:
        deployment = self._known(project, forge_id)
        if set(params) - self.STATUS_KEYS:
            raise BadRequestError(422, f"unknown fields {sorted(set(params) - self.STATUS_KEYS)}")
        if params.get("state") not in self.DEPLOYMENT_STATES:
            raise BadRequestError(422, f"state {params.get('state')!r} is not a deployment state")
        for key in ("target_url", "log_url", "environment_url"):
            if key in params and not str(params[key]).startswith(("http://", "https://")):
                raise BadRequestError(422, f"{key} is not a URL")
        if not isinstance(params.get("description", ""), str):
            raise BadRequestError(422, "description must be a string")
        if len(params.get("description", "")) > 140:
            raise BadRequestError(422, "description is longer than 140 characters")
        if "auto_inactive" in params and not isinstance(params["auto_inactive"], bool):
            raise BadRequestError(422, "auto_inactive must be a boolean")
        deployment.states.append(params["state"])
        deployment.updates.append(params)
        return {
            "id": len(deployment.states),
            "state": params["state"],
            "description": params.get("description", ""),
            "environment": params.get("environment", deployment.params["environment"]),
            "log_url": params.get("log_url", ""),
            "target_url": params.get("log_url", params.get("target_url", "")),
            "deployment_url": f"{self.api}/repos/{project}/deployments/{deployment.id}",
        }


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
        params = self.request_params(query, headers, body)
        if set(params) - self.KEYS:
            raise BadRequestError(400, f"unknown parameters {sorted(set(params) - self.KEYS)}")
        if params.get("state") not in self.STATES:
            raise BadRequestError(400, "state does not have a valid value")
        return unquote(found[1]), found[2], params

    def request_params(self, query: str, headers: Any, body: bytes) -> dict[str, Any]:
        """The token checked; parameters from the query string, a form or a JSON body."""
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
        return params

    DEPLOYMENT_STATUSES = frozenset({"running", "success", "failed", "canceled"})
    CREATE_KEYS = ("environment", "sha", "ref", "tag", "status")

    def deployment(
        self, method: str, path: str, params: dict[str, Any], headers: Any
    ) -> tuple[int, dict[str, Any]]:
        project = rf"{self.prefix}/projects/([^/]+)/deployments"
        created = re.fullmatch(project, path) if method == "POST" else None
        updated = re.fullmatch(rf"{project}/(\d+)", path) if method == "PUT" else None
        found = created or updated
        if found is None:
            raise BadRequestError(404, f"no such endpoint {method} {path}")
        name = unquote(found[1])
        for key in self.CREATE_KEYS if created else ("status",):
            if params.get(key) in (None, ""):
                raise BadRequestError(400, f"{key} is missing")
        unknown = set(params) - set(self.CREATE_KEYS)
        if unknown:
            raise BadRequestError(400, f"unknown parameters {sorted(unknown)}")
        if params["status"] not in self.DEPLOYMENT_STATUSES:
            raise BadRequestError(400, "status does not have a valid value")
        if created:
            if params["tag"] not in (True, False, "true", "false"):
                raise BadRequestError(400, "tag is invalid")
            made = self._created(name, params)
            made.states.append(params["status"])
            return 201, self._shown(made)
        deployment = self._known(name, found[2])
        if deployment.states[-1] != "running":
            raise BadRequestError(400, f"cannot move a {deployment.states[-1]} deployment")
        deployment.states.append(params["status"])
        deployment.updates.append(params)
        return 200, self._shown(deployment)

    def _shown(self, deployment: FakeDeployment) -> dict[str, Any]:
        return {
            "id": deployment.id,
            "iid": deployment.id,
            "ref": deployment.params["ref"],
            "sha": deployment.params["sha"],
            "status": deployment.states[-1],
            "created_at": "2026-12-09T10:00:00.000Z",
            "updated_at": "2026-12-09T10:00:00.000Z",
            "user": {"id": 1, "username": "andon-bot"},
            "environment": {"id": 1, "name": deployment.params["environment"]},
            "deployable": None,
        }


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError as bad:
        raise BadRequestError(400, "Problems parsing JSON") from bad
    if not isinstance(value, dict):
        raise BadRequestError(400, "the body must be a JSON object")
    return value
