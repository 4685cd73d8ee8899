"""Debian's ``prometheus-alertmanager`` as a child process: a generated configuration, a free
loopback port, no cluster gossip, its storage in the test's directory."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from tests.conformance.senders import Child, program
from tests.harness import free_port
from tests.waiting import eventually

INSTALL = "apt-get install prometheus-alertmanager"


class Alertmanager:
    def __init__(self, root: Path, *, config: dict[str, Any]) -> None:
        binary = program("prometheus-alertmanager", install=INSTALL)
        root.mkdir(parents=True, exist_ok=True)
        (root / "alertmanager.yml").write_text(json.dumps(config, indent=2))  # JSON is YAML
        self.url = f"http://127.0.0.1:{free_port()}"
        self.child = Child(
            [
                binary,
                f"--config.file={root / 'alertmanager.yml'}",
                f"--storage.path={root / 'data'}",
                f"--web.listen-address={self.url.removeprefix('http://')}",
                "--cluster.listen-address=",
            ],
            log=root / "alertmanager.log",
            cwd=root,
            env={"PATH": "/usr/bin:/bin"},
        )
        eventually(self._ready, timeout=30, every=0.1, what=f"Alertmanager ready at {self.url}")

    def _ready(self) -> bool:
        assert self.child.running(), f"Alertmanager exited:\n{self.child.log()}"
        try:
            return requests.get(self.url + "/-/ready", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def fire(self, labels: dict[str, str], **annotations: str) -> None:
        """An alert posted to Alertmanager's own API, as Prometheus posts it."""
        self._post({"labels": labels, "annotations": annotations})

    def resolve(self, labels: dict[str, str], **annotations: str) -> None:
        """The same alert with ``endsAt`` in the past: Alertmanager sends it resolved."""
        ended = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
        self._post({"labels": labels, "annotations": annotations, "endsAt": ended})

    def _post(self, alert: dict[str, Any]) -> None:
        answer = requests.post(self.url + "/api/v2/alerts", json=[alert], timeout=10)
        assert answer.status_code == 200, answer.text

    def log(self) -> str:
        return self.child.log()

    def stop(self) -> None:
        self.child.stop()
