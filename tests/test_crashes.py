"""``andon serve`` killed with SIGKILL mid-deploy, and restarted: every host still points at a
complete release, the deploy is marked interrupted, the lock is free and the channel is told
once. Each kill point is reached deterministically — a step that waits for the test's word (a
command waiting for a file, a health endpoint the test holds at 503, a file the host's
``sha256sum`` blocks on, SSH sessions the test has stopped) — never by a sleep."""

import contextlib
import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.deploy_line import DeployLine
from tests.fakes.slack import FakeSlack
from tests.ssh_hosts import SshFleet
from tests.waiting import eventually

# A campaign: `make campaign` (run by .ci/run after `make test`), not `make test`.
pytestmark = pytest.mark.campaign

FILES = {"app.py": "print('v1')\n", "README": "app\n"}
TICK = "0.25"  # ANDON_TICK_SECONDS: the sweep and the deploy tick run four times a second


class HealthGate:
    """Each host's health endpoint (``/<index>``): healthy while its ``current/REVISION`` reads,
    except that a held host answers 503 — the deploy keeps polling it until the test lets go."""

    def __init__(self, fleet: SshFleet) -> None:
        self.fleet = fleet
        self.held: set[int] = set()
        self.asked = {host.index: threading.Event() for host in fleet.hosts}
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                index = int(self.path.strip("/"))
                current = Path(gate.fleet.hosts[index].path) / "current" / "REVISION"
                try:
                    body = current.read_bytes()
                except OSError:
                    body = None
                held = index in gate.held
                if held:
                    gate.asked[index].set()
                ok = body is not None and not held
                self.send_response(200 if ok else 503)
                body = body if ok and body is not None else b"held\n"
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/{index}"

    def hold(self, index: int) -> None:
        self.asked[index].clear()
        self.held.add(index)

    def let_go(self, index: int) -> None:
        self.held.discard(index)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Crash:
    """What a kill point needs: the line, its hosts, the held health checks, a scratch folder."""

    team: DeployLine
    fleet: SshFleet
    gate: HealthGate
    scratch: Path
    first: str = ""
    second: str = ""

    def hold_script(self, name: str) -> str:
        """A command that, once the test arms ``name``, says it got there and waits for the
        word (bounded, so an orphan left by the kill exits on its own)."""
        at, armed, go = (self.scratch / f"{name}.{s}" for s in ("at", "armed", "go"))
        return (
            f"if [ -e {armed} ]; then touch {at}; i=0; "
            f"while [ ! -e {go} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; fi"
        )

    def arm(self, name: str) -> None:
        (self.scratch / f"{name}.armed").touch()

    def reached(self, name: str) -> None:
        eventually(
            lambda: (self.scratch / f"{name}.at").exists(),
            timeout=30,
            every=0.02,
            what=f"the deploy reaching {name}",
        )

    def go(self, name: str) -> None:
        (self.scratch / f"{name}.go").touch()


def _steps(crash: Crash) -> list[str]:
    return [host["step"] for host in crash.team.deploys()[0]["hosts"]]


def _fifo_path(crash: Crash) -> Path:
    return Path(crash.fleet.hosts[1].path) / "releases" / crash.first / "README"


def _stop_sshd(fleet: SshFleet, index: int) -> None:
    """The host's open sessions and its listener stopped: a flip on it hangs until restart."""
    fleet.freeze_connections(index)
    process = fleet.hosts[index].process
    assert process is not None
    os.kill(process.pid, signal.SIGSTOP)


@dataclass(frozen=True)
class KillPoint:
    name: str
    settings: dict[str, Any]
    arm: Callable[[Crash], None]
    reach: Callable[[Crash], None]
    after: Callable[[Crash], None]  # once Andon is dead: unblock what the test held
    live: Callable[[Crash], list[str]]
    rollback: bool = False


# --- the kill points ---------------------------------------------------------------------------


def _staging_arm(crash: Crash) -> None:
    """Host 1's live release gets a FIFO where README was: the new release starts as a hard
    link copy of it, and the check of every file (``sha256sum``) blocks on opening it — with
    ``releases/<sha>.partial`` half built, until the test writes to it."""
    fifo = _fifo_path(crash)
    fifo.unlink()
    os.mkfifo(fifo)


def _staging_reach(crash: Crash) -> None:
    partial = Path(crash.fleet.hosts[1].path) / "releases" / f"{crash.second}.partial"
    eventually(
        lambda: _steps(crash) == ["staged", "staging", "staged"] and partial.exists(),
        timeout=30,
        every=0.02,
        what="hosts 0 and 2 staged beside a half-built host 1",
    )


def _staging_after(crash: Crash) -> None:
    fifo = _fifo_path(crash)
    with contextlib.suppress(OSError):  # frees a sha256sum still waiting on it
        os.close(os.open(fifo, os.O_RDWR | os.O_NONBLOCK))
    fifo.unlink()
    fifo.write_text(FILES["README"])


def _before_arm(crash: Crash) -> None:
    crash.arm("before")


def _before_reach(crash: Crash) -> None:
    crash.reached("before")
    assert _steps(crash) == ["staged"] * 3


def _canary_health_arm(crash: Crash) -> None:
    crash.gate.hold(0)


def _canary_health_reach(crash: Crash) -> None:
    assert crash.gate.asked[0].wait(30), "the canary's health was never asked"
    assert _steps(crash) == ["active", "staged", "staged"]


def _between_reach(crash: Crash) -> None:
    """The canary is healthy; hosts 1 and 2 hang in their flip, their sshd stopped by us."""
    assert crash.gate.asked[0].wait(30), "the canary's health was never asked"
    for index in (1, 2):
        _stop_sshd(crash.fleet, index)
    crash.gate.let_go(0)
    eventually(
        lambda: _steps(crash) == ["healthy", "activating", "activating"],
        timeout=30,
        every=0.02,
        what="the second batch starting its flip",
    )


def _between_after(crash: Crash) -> None:
    for index in (1, 2):
        crash.fleet.restart(index)


def _rollback_reach(crash: Crash) -> None:
    assert crash.gate.asked[0].wait(30), "host 0's health was never asked"
    eventually(
        lambda: _steps(crash)[0] == "active",
        timeout=30,
        every=0.02,
        what="the rollback flipping host 0",
    )


def _nothing(crash: Crash) -> None:
    pass


def _go(name: str) -> Callable[[Crash], None]:
    return lambda crash: crash.go(name)


POINTS = [
    KillPoint(
        "staging",
        {},
        _staging_arm,
        _staging_reach,
        _staging_after,
        lambda c: [c.first] * 3,
    ),
    KillPoint(
        "before_activate",
        {"before_activate": ["{before}"]},
        _before_arm,
        _before_reach,
        _go("before"),
        lambda c: [c.first] * 3,
    ),
    KillPoint(
        "canary_health_check",
        {},
        _canary_health_arm,
        _canary_health_reach,
        _nothing,
        lambda c: [c.second, c.first, c.first],
    ),
    KillPoint(
        "between_batch_flips",
        {},
        _canary_health_arm,
        _between_reach,
        _between_after,
        lambda c: [c.second, c.first, c.first],
    ),
    KillPoint(
        "rollback_health_check",
        {},
        _canary_health_arm,
        _rollback_reach,
        _nothing,
        lambda c: [c.first] * 3,
        rollback=True,
    ),
]


@pytest.fixture
def gate(ssh_fleet: SshFleet) -> Iterator[HealthGate]:
    held = HealthGate(ssh_fleet)
    yield held
    held.close()


def _team(crash_dir: Path, fleet: SshFleet, slack: FakeSlack, gate: HealthGate, point: KillPoint):
    scratch = crash_dir / "scratch"
    scratch.mkdir(parents=True)
    probe = Crash(team=None, fleet=fleet, gate=gate, scratch=scratch)  # type: ignore[arg-type]
    holds = {"before": probe.hold_script("before")}
    settings = {
        key: [item.format(**holds) for item in value] for key, value in point.settings.items()
    }
    team = DeployLine(crash_dir, fleet=fleet, slack=slack, health_timeout="60s", **settings)
    for index in team.hosts:  # the health URLs the test holds, in place of the fleet's own
        team.config = team.config.replace(
            json.dumps(f"http://127.0.0.1:{fleet.hosts[index].health_port}/"),
            json.dumps(gate.url(index)),
        )
    (team.server.workdir / "andon.toml").write_text(team.config)
    team.server.env["ANDON_TICK_SECONDS"] = TICK
    probe.team = team
    return probe


def _interruptions(slack: FakeSlack) -> list[str]:
    calls = slack.calls("chat.update") + slack.calls("chat.postMessage")
    return [c.params.get("text", "") for c in calls if "interrupted" in c.params.get("text", "")]


def _assert_whole(crash: Crash, expected: list[str]) -> None:
    """Every host's ``current`` is a complete release: ``releases/<sha>`` with its REVISION."""
    for index, revision in zip(crash.team.hosts, expected, strict=True):
        app = Path(crash.fleet.hosts[index].path)
        assert os.readlink(app / "current") == f"releases/{revision}", index
        release = app / "releases" / revision
        assert (release / "REVISION").read_text().strip() == revision
        assert (release / ".andon-manifest").exists()


def _kill_mid_deploy(
    point: KillPoint,
    root: Path,
    fleet: SshFleet,
    slack: FakeSlack,
    gate: HealthGate,
    started: list[Crash],
) -> tuple[Crash, dict[str, Any]]:
    """Two releases, the second (or a rollback) killed at ``point``; returns the restarted line
    and the interrupted deploy as ``GET /api/deploys`` shows it."""
    crash = _team(root, fleet, slack, gate, point)
    started.append(crash)  # stopped by the fixture, whatever happens
    team = crash.team
    team.start()
    crash.first = team.release("first", FILES)
    team.slash("/deploy", "")
    assert team.finished()["status"] == "succeeded"
    crash.second = team.release("second", {"app.py": "print('v2')\n"})
    if point.rollback:
        team.slash("/deploy", "")
        assert team.finished()["status"] == "succeeded"
        point.arm(crash)
        assert "Rolling back" in team.slash("/rollback", "")
    else:
        point.arm(crash)
        assert "Deploying" in team.slash("/deploy", "")
    point.reach(crash)
    killed = team.deploys()[0]
    team.server.process.kill()  # SIGKILL: no cleanup of any kind
    team.server.process.wait()
    point.after(crash)
    crash.gate.held.clear()
    team.server.start()
    deploy = team.finished(timeout=15)
    assert deploy["id"] == killed["id"] and deploy["status"] == "interrupted", deploy
    return crash, deploy


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[list[Crash]]:
    crashes: list[Crash] = []
    yield crashes
    for crash in crashes:
        crash.go("before")
        crash.team.stop()


@pytest.mark.parametrize("point", POINTS, ids=[p.name for p in POINTS])
def test_andon_killed_mid_deploy_restarts_whole(
    point: KillPoint,
    tmp_path: Path,
    fleet: SshFleet,
    fake_slack: FakeSlack,
    gate: HealthGate,
    scratch: list[Crash],
) -> None:
    crash, deploy = _kill_mid_deploy(point, tmp_path, fleet, fake_slack, gate, scratch)
    team = crash.team
    _assert_whole(crash, point.live(crash))
    # The record says what each host caught in the middle runs, as the host itself told it.
    for host, revision in zip(deploy["hosts"], point.live(crash), strict=True):
        assert host["step"] not in {"waiting", "staging", "staged", "activating", "active"}, host
        assert host["step"] != "stopped" or host["runs"] == revision, host
    told = [
        json.dumps(c.params.get("blocks"), ensure_ascii=False)
        for c in fake_slack.calls("chat.update")
        if "interrupted" in c.params.get("text", "")
    ]
    stopped = [h for h in deploy["hosts"] if h["step"] == "stopped"]
    assert stopped, deploy["hosts"]  # every kill point catches a host in the middle
    for host in stopped:
        assert f"{host['address']}` — :black_square_for_stop: stopped here — runs" in told[-1]
    status = team.slash("/deploy", "status")
    for index, revision in zip(team.hosts, point.live(crash), strict=True):
        assert f"{fleet.hosts[index].address} — {revision[:7]}" in status, status

    # The lock is free: a new deploy is accepted and ships everywhere.
    assert "Deploying" in team.slash("/deploy", f"{crash.second[:7]} again")
    assert team.finished()["status"] == "succeeded"
    _assert_whole(crash, [crash.second] * 3)
    for index in team.hosts:
        assert not [n for n in team.releases(index) if n.endswith(".partial")], index
    fake_slack.wait_for("chat.update", lambda p: "interrupted" in p.get("text", ""))
    assert len(_interruptions(fake_slack)) == 1, _interruptions(fake_slack)
