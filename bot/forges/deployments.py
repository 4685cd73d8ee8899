"""Deploys recorded as GitHub and GitLab deployments: the two adapters, with what they say.

``bot.workers.deployment_mirror`` runs them: it tells each forge every step of every deploy once.
"""

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import requests

from bot.forges.statuses import GITHUB_API_VERSION, TIMEOUT
from core.config.hosts import Environment
from core.deploy.forge_deployments import Created, ForgeDeploymentError
from core.deploy.forge_records import DeployFacts, Shown
from core.deploy.state import DeployKind
from core.words import span

MAX_DESCRIPTION = 140  # GitHub refuses longer status descriptions
LASTING = frozenset({400, 409, 410, 413, 415, 422})  # the request itself is wrong: never retried


class GitHubDeployments:
    """``POST /repos/{owner}/{repo}/deployments`` of the deployed sha, then its ``/statuses``:
    ``in_progress``, ``success`` or ``failure``, and ``inactive`` once a later one replaced it.

    GitHub's ``auto_inactive`` skips production environments, so Andon marks the replaced
    deployment itself and asks GitHub not to (``auto_inactive: false``)."""

    marks_replaced = True
    STATES: Mapping[Shown, str] = {
        "running": "in_progress",
        "succeeded": "success",
        "failed": "failure",
        "interrupted": "failure",
        "inactive": "inactive",
    }

    def __init__(
        self,
        *,
        api: str,
        token: str,
        production: Callable[[str], bool],
        andon_url: str | None = None,
        http: requests.Session | None = None,
    ) -> None:
        self._api = api.rstrip("/")
        self._production = production
        self._andon_url = andon_url
        self._http = http or requests.Session()
        self._headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": GITHUB_API_VERSION,
        }

    def create(self, project: str, deploy: DeployFacts) -> Created:
        body = {
            "ref": deploy.revision,  # the full sha: exactly what runs, never a moving branch
            "environment": deploy.environment,
            "description": summary(deploy),
            "auto_merge": False,
            "required_contexts": [],  # a fix ships while andon/line is failing
            "transient_environment": False,
            "production_environment": self._production(deploy.environment),
            "payload": {"andon_deploy": deploy.id, "kind": deploy.kind},
        }
        answer = _call(self._http, "GitHub", "POST", self._repo(project), self._headers, body)
        forge_id = answer.get("id")
        if not isinstance(forge_id, int):
            raise ForgeDeploymentError(
                f"GitHub created no deployment: {str(answer)[:300]}", lasting=True
            )
        return Created(str(forge_id), "created")

    def mark(self, project: str, forge_id: str, state: Shown, deploy: DeployFacts) -> None:
        body: dict[str, Any] = {
            "state": self.STATES[state],
            "description": progress(deploy, state),
            "auto_inactive": False,
        }
        link = log_url(deploy, andon_url=self._andon_url)
        if link is not None:
            body["log_url"] = link
        url = f"{self._repo(project)}/{quote(forge_id, safe='')}/statuses"
        _call(self._http, "GitHub", "POST", url, self._headers, body)

    def _repo(self, project: str) -> str:
        owner, _, repo = project.partition("/")
        return f"{self._api}/repos/{quote(owner, safe='')}/{quote(repo, safe='')}/deployments"


class GitLabDeployments:
    """``POST /projects/:id/deployments`` with status ``running``, then ``PUT …/:deployment_id``
    with ``success``, ``failed`` or ``canceled`` (an interrupted deploy). GitLab shows the newest
    successful deployment as the environment's own, so nothing is marked replaced."""

    marks_replaced = False
    STATES: Mapping[Shown, str] = {
        "running": "running",
        "succeeded": "success",
        "failed": "failed",
        "interrupted": "canceled",
    }

    def __init__(
        self, *, api: str, token: str, ref: str, http: requests.Session | None = None
    ) -> None:
        self._api = api.rstrip("/")
        self._ref = ref
        self._http = http or requests.Session()
        self._headers = {"PRIVATE-TOKEN": token}

    def create(self, project: str, deploy: DeployFacts) -> Created:
        body = {
            "environment": deploy.environment,
            "sha": deploy.revision,
            "ref": self._ref,  # the line's branch, which every deployed revision came from
            "tag": False,
            "status": "running",
        }
        answer = _call(
            self._http, "GitLab", "POST", self._deployments(project), self._headers, body
        )
        forge_id = answer.get("id")
        if not isinstance(forge_id, int):
            raise ForgeDeploymentError(
                f"GitLab created no deployment: {str(answer)[:300]}", lasting=True
            )
        return Created(str(forge_id), "running")

    def mark(self, project: str, forge_id: str, state: Shown, deploy: DeployFacts) -> None:
        url = f"{self._deployments(project)}/{quote(forge_id, safe='')}"
        body = {"status": self.STATES[state]}
        _call(self._http, "GitLab", "PUT", url, self._headers, body)

    def _deployments(self, project: str) -> str:
        return f"{self._api}/projects/{quote(project, safe='')}/deployments"


def production(environments: Mapping[str, Environment], name: str) -> bool:
    """Where end users are: an environment called so, or the end of a promotion chain."""
    if name in ("production", "prod"):
        return True
    environment = environments.get(name)
    last = all(other.after != name for other in environments.values())
    return environment is not None and environment.after is not None and last


def summary(deploy: DeployFacts) -> str:
    """The deployment's description: what, by whom, from where."""
    short = deploy.revision[:7]
    if deploy.kind == DeployKind.ROLLBACK:
        text = f"Rollback of {deploy.environment} to {short} by {deploy.by} ({deploy.via})"
    else:
        text = f"Deploy of {short} to {deploy.environment} by {deploy.by} ({deploy.via})"
    if deploy.fix_reason:
        text += f", a fix while the line is stopped: {deploy.fix_reason}"
    return _clip(text)


def progress(deploy: DeployFacts, state: Shown) -> str:
    """A status's description: where the deploy is, and how it ended."""
    short, environment = deploy.revision[:7], deploy.environment
    rollback = deploy.kind == DeployKind.ROLLBACK
    took = ""
    if deploy.started_at is not None and deploy.finished_at is not None:
        took = f" in {span(deploy.finished_at - deploy.started_at)}"
    match state:
        case "running":
            text = f"Rolling back to {short}" if rollback else f"Deploying {short}"
        case "succeeded":
            done = "Rolled back to" if rollback else "Deployed"
            text = f"{done} {short} on {environment}{took}"
        case "failed":
            text = f"Failed: {deploy.error or 'see Andon'}"
        case "interrupted":
            text = f"Interrupted: {deploy.error or 'Andon stopped while it ran'}"
        case _:
            text = "Replaced by a later deploy"
    return _clip(text)


def log_url(deploy: DeployFacts, *, andon_url: str | None) -> str | None:
    """Where people follow the deploy: its message in the channel, else Andon's record of it."""
    if deploy.link and deploy.link.startswith(("https://", "http://")):
        return deploy.link
    if andon_url:
        return f"{andon_url.rstrip('/')}/api/deploys?environment={quote(deploy.environment)}"
    return None


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1].rstrip() + "…"


def _call(
    http: requests.Session,
    forge: str,
    method: str,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any],
) -> dict[str, Any]:
    """One request; anything but a 2xx with a JSON object is a ``ForgeDeploymentError`` that
    names the forge's answer (never the token)."""
    try:
        answer = http.request(method, url, headers=headers, json=body, timeout=TIMEOUT)
    except requests.RequestException as broken:
        raise ForgeDeploymentError(
            f"{forge} could not be reached: {type(broken).__name__}"
        ) from broken
    if not answer.ok:
        raise ForgeDeploymentError(
            f"{forge} answered {answer.status_code}: {answer.text[:300]}",
            lasting=answer.status_code in LASTING,
        )
    try:
        found = answer.json()
    except ValueError:
        found = None
    return found if isinstance(found, dict) else {}
