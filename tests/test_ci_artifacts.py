"""A red run that names no tests: its JUnit report is fetched from the CI's artifact store."""

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.ci_payloads import generic, junit, post, sha
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, AndonServer


class ArtifactStore:
    """A real HTTP server on loopback holding JUnit files by path."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.asked: list[str] = []
        store = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                store.asked.append(self.path)
                body = store.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.end_headers()
                self.wfile.write(body or b"not found")

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def store() -> Iterator[ArtifactStore]:
    running = ArtifactStore()
    yield running
    running.close()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack, store: ArtifactStore
) -> Iterator[AndonServer]:
    workdir: Path = tmp_path_factory.mktemp("ci-artifacts")
    config = (
        f'[slack]\nchannel = "{CHANNEL}"\n[repo]\npath = "/srv/git/app.git"\n'
        f'[ci]\njunit_url = "{store.url}/{{pipeline}}/{{run_id}}/junit.xml"\n'
    )
    running = AndonServer(
        workdir, database_url=f"sqlite:///{workdir / 'andon.db'}", slack=fake_slack, config=config
    )
    yield running.start()
    running.stop()


def announcing(rev: str) -> Callable[[dict[str, Any]], bool]:
    """The red run's announcement in the channel, not the stoppage's thread that names it too
    (which may have arrived by the time the test looks)."""
    return lambda p: f"CI failed on {rev[:7]}" in p["text"] and not p.get("thread_ts")


def test_the_failing_tests_of_a_red_run_come_from_its_junit_artifact(
    server: AndonServer, store: ArtifactStore, fake_slack: FakeSlack
) -> None:
    store.files["/tests/run%2F42/junit.xml"] = junit(
        ("api.Orders", "test_refund", "500 != 200")
    ).encode()
    rev = sha()
    assert post(server, "generic", generic(rev, "failed", run_id="run/42")).status_code == 200
    said = fake_slack.wait_for("chat.postMessage", announcing(rev))
    shown = json.dumps(said[-1].params["blocks"], ensure_ascii=False)
    assert "api.Orders::test_refund" in shown and "500 != 200" in shown
    assert "/tests/run%2F42/junit.xml" in store.asked  # the run id cannot reshape the URL


def test_a_missing_artifact_still_announces_the_red_run(
    server: AndonServer, fake_slack: FakeSlack
) -> None:
    rev = sha()
    assert post(server, "generic", generic(rev, "failed", run_id="gone")).status_code == 200
    said = fake_slack.wait_for("chat.postMessage", announcing(rev))
    assert "No failing test was named" in json.dumps(said[-1].params["blocks"])
