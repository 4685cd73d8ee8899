"""Commit statuses on GitHub and GitLab: the two forge adapters and the loop that keeps them true.

The loop looks every second for open heads whose ``andon/line`` status disagrees with the line: a
stop or start may come from another process (the CLI, the git hook), so it reads the database
rather than waiting to be told. A head the forge refused is retried after ``RETRY_AFTER``. Every
replica runs the loop; a head is claimed before its status goes out (``core.review.claim``), so
one replica publishes each change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote

import requests

from bot.workers import holders
from core import review
from core.review import CONTEXT, ForgeError, ForgePort, StatusState, publish_due

if TYPE_CHECKING:
    from bot.andon import Andon

log = logging.getLogger(__name__)

TIMEOUT = (5.0, 15.0)  # connect, read
POLL = 1.0
GITHUB_API_VERSION = "2022-11-28"
GITLAB_STATES: dict[StatusState, str] = {"success": "success", "failure": "failed"}


class GitHubStatuses:
    """``POST /repos/{owner}/{repo}/statuses/{sha}`` with a token that may write statuses."""

    def __init__(self, *, api: str, token: str, http: requests.Session | None = None) -> None:
        self._api = api.rstrip("/")
        self._http = http or requests.Session()
        self._headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": GITHUB_API_VERSION,
        }

    def publish(self, project: str, sha: str, state: StatusState, description: str) -> None:
        owner, _, repo = project.partition("/")
        url = f"{self._api}/repos/{quote(owner, safe='')}/{quote(repo, safe='')}/statuses/{sha}"
        body = {"state": state, "description": description, "context": CONTEXT}
        _send(self._http, "GitHub", url, headers=self._headers, json=body)


class GitLabStatuses:
    """``POST /projects/:id/statuses/:sha`` with a token of a Developer or more."""

    def __init__(self, *, api: str, token: str, http: requests.Session | None = None) -> None:
        self._api = api.rstrip("/")
        self._http = http or requests.Session()
        self._headers = {"PRIVATE-TOKEN": token}

    def publish(self, project: str, sha: str, state: StatusState, description: str) -> None:
        url = f"{self._api}/projects/{quote(project, safe='')}/statuses/{sha}"
        body = {"state": GITLAB_STATES[state], "name": CONTEXT, "description": description}
        _send(self._http, "GitLab", url, headers=self._headers, json=body)


def _send(
    http: requests.Session, forge: str, url: str, *, headers: dict[str, str], json: object
) -> None:
    """One POST; anything but a 2xx is a ``ForgeError`` that names the forge's answer."""
    try:
        answer = http.post(url, headers=headers, json=json, timeout=TIMEOUT)
    except requests.RequestException as broken:
        raise ForgeError(f"{forge} could not be reached: {type(broken).__name__}") from broken
    if not answer.ok:
        raise ForgeError(f"{forge} answered {answer.status_code}: {answer.text[:300]}")


class ForgeStatuses:
    """A daemon thread that runs ``publish_due`` every ``POLL`` seconds until stopped."""

    def __init__(self, andon: Andon, forges: Mapping[str, ForgePort]) -> None:
        self.holder = holders.token()
        self._andon = andon
        self._forges = dict(forges)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.release_orphans()
        self._thread = threading.Thread(target=self._run, name="andon-forges", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def release_orphans(self) -> int:
        """Heads a replica held when its process died are published at once, not after the lease."""
        with self._andon.database.writing() as session:
            dead = [
                claimant
                for claimant in review.claimants(session)
                if holders.is_dead(claimant, me=self.holder)
            ]
            return review.release(session, holders=dead)

    def run_once(self) -> None:
        done = publish_due(
            self._andon.database, clock=self._andon.clock, forges=self._forges, holder=self.holder
        )
        for error in done.errors:
            log.warning("commit status not published, retried later: %s", error)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("publishing commit statuses failed a round; it will try again")
            self._stop.wait(timeout=POLL)
