"""The loop that records every deploy and rollback as a deployment on GitHub and GitLab.

It looks every second for deploys a forge has not been told of yet, or whose state moved since
(``core.deploy.forge_deployments``): deploys may run in another process (the CLI), so it reads
the database rather than waiting to be told, and a deploy never waits for a forge.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING

from bot.forges.deployments import GitHubDeployments, GitLabDeployments, production
from bot.forges.statuses import POLL
from bot.workers import holders
from core.deploy import forge_records
from core.deploy.forge_deployments import DeploymentsPort, mirror_due

if TYPE_CHECKING:
    from bot.andon import Andon
    from bot.settings.environment import Settings

log = logging.getLogger(__name__)


def start(andon: Andon, settings: Settings) -> ForgeDeployments | None:
    """On for each forge whose token is set and whose project ``[forges]`` names; ``andon
    serve`` says at start which are off and why."""
    config = andon.config.forges
    forges: dict[str, DeploymentsPort] = {}
    projects: dict[str, str] = {}
    github, gitlab = settings.andon_github_token, settings.andon_gitlab_token
    if github and config.github:
        forges["github"] = GitHubDeployments(
            api=config.github_api,
            token=github.get_secret_value(),
            production=partial(production, andon.config.environments),
            andon_url=settings.andon_url,
        )
        projects["github"] = config.github
    else:
        missing = "[forges] github" if github else "ANDON_GITHUB_TOKEN"
        log.info("%s is unset: deploys are not recorded as GitHub deployments", missing)
    if gitlab and config.gitlab:
        forges["gitlab"] = GitLabDeployments(
            api=config.gitlab_api, token=gitlab.get_secret_value(), ref=andon.config.line_branch
        )
        projects["gitlab"] = config.gitlab
    else:
        missing = "[forges] gitlab" if gitlab else "ANDON_GITLAB_TOKEN"
        log.info("%s is unset: deploys are not recorded as GitLab deployments", missing)
    if not forges:
        return None
    mirror = ForgeDeployments(andon, forges, projects=projects)
    mirror.start()
    shown = ", ".join(f"{forge} {projects[forge]}" for forge in sorted(forges))
    log.info("deployments: every deploy and rollback recorded on %s", shown)
    return mirror


class ForgeDeployments:
    """A daemon thread that runs ``mirror_due`` every ``POLL`` seconds until stopped."""

    def __init__(
        self,
        andon: Andon,
        forges: Mapping[str, DeploymentsPort],
        *,
        projects: Mapping[str, str],
    ) -> None:
        self.holder = holders.token()
        self._andon = andon
        self._forges = dict(forges)
        self._projects = dict(projects)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.release_orphans()
        self._thread = threading.Thread(
            target=self._run, name="andon-forge-deployments", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def release_orphans(self) -> int:
        """Rows a mirror held when its process died are told at once, not after the lease."""
        with self._andon.database.writing() as session:
            dead = [
                claimant
                for claimant in forge_records.claimants(session)
                if holders.is_dead(claimant, me=self.holder)
            ]
            return forge_records.release(session, holders=dead)

    def run_once(self) -> None:
        done = mirror_due(
            self._andon.database,
            clock=self._andon.clock,
            forges=self._forges,
            projects=self._projects,
            holder=self.holder,
        )
        for error in done.errors:
            log.warning("deployment not recorded on the forge: %s", error)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("recording deployments on the forges failed a round; it goes on")
            self._stop.wait(timeout=POLL)
