"""The Dockerfile, compose.yaml and the systemd unit keep the promises docs/operations.md makes:
a user that is not root, a health check that asks /healthz, every interface inside the container,
PostgreSQL healthy before Andon starts, and more time to stop than Andon's stop_grace.

No Docker here: the files are read as their tools read them, the health check's own command is
run against a real Andon, and the unit goes through ``systemd-analyze verify`` where it exists.
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from core.clock import ManualClock
from core.config.http import HttpConfig
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL
from tests.inprocess import InProcessAndon

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "contrib" / "systemd" / "andon.service"
STOP_GRACE = HttpConfig().stop_grace.total_seconds()


def _stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions, continuation lines joined, one list per FROM."""
    stages: list[list[tuple[str, str]]] = []
    logical = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            logical += line[:-1].strip() + " "
            continue
        keyword, _, rest = (logical + line).partition(" ")
        logical = ""
        if keyword.upper() == "FROM":
            stages.append([])
        if stages:  # an ARG before the first FROM belongs to no stage
            stages[-1].append((keyword.upper(), rest.strip()))
    return stages


def _args(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    return [rest for word, rest in stage if word == keyword]


def _image_env() -> dict[str, str]:
    pairs = " ".join(_args(_stages()[-1], "ENV"))
    return dict(word.split("=", 1) for word in shlex.split(pairs) if "=" in word)


def _unit() -> dict[str, dict[str, list[str]]]:
    """systemd's reading of a unit: sections of keys, a key given twice keeps both values."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def _seconds(span: str) -> float:
    units = {"ms": 0.001, "s": 1, "sec": 1, "min": 60, "m": 60}
    number = span.rstrip("abcdefghijklmnopqrstuvwxyz")
    return float(number) * units[span[len(number) :] or "s"]


def test_the_image_is_built_in_one_stage_and_runs_in_another_as_a_user_of_its_own() -> None:
    build, runtime = _stages()[0], _stages()[-1]
    assert len(_stages()) >= 2
    assert any("--from=build /opt/andon/.venv" in copy for copy in _args(runtime, "COPY"))
    users = _args(runtime, "USER")
    assert users, "the runtime stage names no USER: the container would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    installs = " ".join(_args(build, "RUN"))
    assert "uv sync --locked --no-dev" in installs  # the committed uv.lock, without the dev set
    packages = " ".join(_args(runtime, "RUN"))
    assert "git" in packages.split() and "openssh-client" in packages.split()


def test_the_image_listens_on_every_interface_and_keeps_its_state_in_the_volume() -> None:
    runtime = _stages()[-1]
    env = _image_env()
    assert env["ANDON_HTTP_HOST"] == "0.0.0.0"  # noqa: S104 — inside the container, on purpose
    assert _args(runtime, "EXPOSE") == [env["ANDON_HTTP_PORT"]]
    assert json.loads(_args(runtime, "VOLUME")[-1]) == ["/var/lib/andon"]
    assert env["ANDON_DATABASE_URL"] == "sqlite:////var/lib/andon/andon.db"
    assert env["ANDON_CONFIG"] == "/etc/andon/andon.toml"
    assert json.loads(_args(runtime, "ENTRYPOINT")[-1]) == ["andon"]
    assert json.loads(_args(runtime, "CMD")[-1]) == ["serve"]


def _health_command() -> list[str]:
    healthcheck = _args(_stages()[-1], "HEALTHCHECK")[-1]
    command = json.loads(healthcheck.split(" CMD ", 1)[1])
    assert "curl" not in " ".join(command) and "/healthz" in " ".join(command)
    return [sys.executable, *command[1:]]  # the image's Python is the venv's


@pytest.fixture
def andon(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[InProcessAndon]:
    clock = ManualClock(datetime(2026, 11, 26, 14, 0, tzinfo=UTC))
    running = InProcessAndon(
        tmp_path, config=f'[slack]\nchannel = "{CHANNEL}"\n', slack=fake_slack, clock=clock
    )
    running.start()
    yield running
    running.stop()


def test_the_health_check_passes_while_andon_serves_and_fails_once_it_stopped(
    andon: InProcessAndon,
) -> None:
    env = {**os.environ, "ANDON_HTTP_PORT": str(andon.settings.andon_http_port)}
    serving = subprocess.run(_health_command(), env=env, capture_output=True, text=True)
    assert serving.returncode == 0, serving.stderr
    andon.stop()
    stopped = subprocess.run(_health_command(), env=env, capture_output=True, text=True)
    assert stopped.returncode != 0
    assert "Connection refused" in stopped.stderr


def test_compose_starts_andon_once_postgresql_is_healthy() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    db, andon = compose["services"]["db"], compose["services"]["andon"]
    assert db["image"].split(":")[1].split(".")[0] in ("15", "16")
    volume, _, path = db["volumes"][0].partition(":")
    assert volume in compose["volumes"] and path == "/var/lib/postgresql/data"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert andon["depends_on"]["db"]["condition"] == "service_healthy"
    assert andon["environment"]["ANDON_DATABASE_URL"].startswith("postgresql://andon:")
    assert "@db:5432/andon" in andon["environment"]["ANDON_DATABASE_URL"]
    assert andon["env_file"] == ".env"
    assert "./andon.toml:/etc/andon/andon.toml:ro" in andon["volumes"]
    assert _seconds(andon["stop_grace_period"]) > STOP_GRACE


def test_the_unit_restarts_andon_and_waits_longer_than_its_stop_grace() -> None:
    service = _unit()["Service"]
    assert service["Type"] == ["simple"]
    assert service["ExecStart"] == ["/opt/andon/.venv/bin/andon serve"]
    assert service["User"] == ["andon"]
    assert service["EnvironmentFile"] == ["/etc/andon/andon.env"]
    assert service["WorkingDirectory"] == ["/var/lib/andon"]
    assert service["Restart"] == ["on-failure"]
    assert service["KillSignal"] == ["SIGTERM"]
    assert _seconds(service["TimeoutStopSec"][-1]) > STOP_GRACE


def test_the_unit_writes_only_to_its_state_folder_and_reaches_only_the_network() -> None:
    service = _unit()["Service"]
    expected = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ReadWritePaths": "/var/lib/andon",
        "ProtectHome": "read-only",  # an SSH key under /home stays readable
        "PrivateTmp": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "yes",
        "SystemCallFilter": "@system-service",
    }
    assert {key: service.get(key, ["(unset)"])[-1] for key in expected} == expected


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_reads_the_unit_without_a_warning(tmp_path: Path) -> None:
    """Verified in a root of its own: the system's units, the unit, its ExecStart and the
    ``kill`` of its ExecReload."""
    shutil.copytree("/usr/lib/systemd/system", tmp_path / "usr/lib/systemd/system", symlinks=True)
    (tmp_path / "etc/systemd/system").mkdir(parents=True)
    shutil.copy(UNIT, tmp_path / "etc/systemd/system")
    for program in ("opt/andon/.venv/bin/andon", "bin/kill"):
        stub = tmp_path / program
        stub.parent.mkdir(parents=True)
        stub.write_text("#!/bin/sh\n")
        stub.chmod(0o755)
    verify = subprocess.run(
        ["systemd-analyze", "verify", f"--root={tmp_path}", "andon.service"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert (verify.returncode, verify.stdout + verify.stderr) == (0, "")


def test_a_uid_without_an_account_is_still_someone_at_the_keyboard(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Kubernetes and OpenShift run images under an arbitrary uid with no passwd entry (where
    ``pwd`` raises KeyError): the terminal front names the person after the uid instead of
    crashing at start."""
    import pwd

    from bot.main import person

    def no_account(uid: int) -> pwd.struct_passwd:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    for name in ("USER", "LOGNAME", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(pwd, "getpwuid", no_account)
    assert person(None, via="cli").name == f"uid {os.getuid()}"
