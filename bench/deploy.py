"""Rollback, delta upload and the atomic flip on real OpenSSH hosts: Andon's way and a script's.

Everything runs against ``tests/ssh_hosts.SshFleet``: one ``sshd`` per "host" on loopback, each
with its own port, host key and directory, so what was done over SSH can be checked on the local
filesystem. Three measurements:

1. **Rollback of 1, 5 and 20 hosts.** The **baseline** is what a simple script does: per host, one
   after the other, a *new* paramiko connection and a shell command
   ``ln -sfn releases/<sha> current.tmp && mv -T current.tmp current`` (also timed with one thread
   per host, to tell parallelism apart from the method). Andon's way, two ways: (a) the flip alone
   through the port — ``releases.activate`` (an SFTP symlink and ``posix_rename``) in one thread
   per host through an ``SshTransport``, cold (a new transport: connecting included) and warm
   (its connections in the pool); (b) the whole rollback as ``/rollback <env> <sha>`` runs it:
   ``Andon.execute`` (audit row, deploy and host rows, the environment's lock, the progress
   message queued in the outbox, all in SQLite) and the ``Deployer``'s thread running
   ``core.deploy.run`` (the hosts' steps recorded together, the progress message updated at the
   start and the end, the release marked bad and the line stopped at the end) — cold (the
   deployer's transports closed first) and warm (the next rollback, through the connections the
   last one left in the pool). The hosts hold two releases, deployed by the engine itself first,
   so the database knows both. No after_activate, no health check. **Target**: 20 hosts under
   0.5 s cold and 50 ms warm. Then one more warm rollback of 20 hosts with clocks around every
   unit of work and SSH call, to see where its time goes, and warm rollbacks with one part of the
   engine made a no-op by this script (what-ifs, not Andon's behaviour), to see what each part
   costs.
2. **Redeploy of a 50 MB tree of 5,000 files (random bytes, seeded) with 1 % of them changed**,
   to one host: ``releases.stage`` with no live release (the full upload), ``releases.stage``
   with the previous release live (Andon's delta: a hard-linked copy, the changed files, a
   checksum pass), and the **baseline** ``rsync -a --delete --link-dest=../<prev>`` over OpenSSH,
   from a git checkout (where unchanged files keep their mtime, so rsync's quick check links
   them). The cut of the bundle (``git archive`` + hashing) happens once per deploy on Andon's
   side: timed apart. Bytes: ``Staged.bytes_sent`` for Andon, rsync's ``--stats`` "Total bytes
   sent", and for both the SSH bytes on the wire (paramiko's packet counter; OpenSSH ``-v``'s
   "Transferred:"). **Target**: the delta at least as fast as rsync, and its bytes sent within
   2× the changed bytes. Then one more delta with every call to the host clocked, and what a
   connection and a command cost alone.
3. **Atomicity**: a thread reads ``<path>/current/REVISION`` in a tight loop while 100 flips
   alternate between two releases through ``releases.activate``; it must never fail. A control
   does the same flips by unlink-and-recreate, to show the reader would catch a gap.

About two minutes (``--quick``: under one); loopback only; the hosts, the database and the
trees live in temporary directories removed at the end. Other work seen on the machine meanwhile
(pytest, another benchmark, an Andon server) is reported with the machine. Progress goes to
stderr; the Markdown for ``bench/README.md`` (or ``--json``) goes to stdout. Exits 1 if a flip
was not atomic.

    .venv/bin/python bench/deploy.py [--json] [--quick] [--reps 5] [--redeploys 3] [--files 5000]
"""

import argparse
import gzip
import io
import json
import os
import random
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from statistics import median
from typing import Any

import paramiko
from common import (
    commit,
    filesystem,
    host,
    load_average,
    machine_table,
    progress,
    rotated,
    uncommitted,
)

from bot.andon import Andon
from bot.hosts.ssh import SshTransport
from bot.intents.typed import Deploy as DeployIntent
from bot.intents.typed import Rollback as RollbackIntent
from bot.main import open_andon
from bot.releases.bundle import TreeBundle, cut, scan
from bot.releases.git import GitSource
from bot.settings.environment import Settings
from bot.terminal.chat import TerminalChat
from core.actor import Actor
from core.ci.report import BuildReport, BuildStatus
from core.config.file import load as load_config
from core.config.hosts import Host
from core.deploy import manifest, records, releases
from core.deploy.progress import Progress
from core.deploy.request import Accepted
from core.deploy.state import DeployState
from core.deploy.transport import Connection, Transport
from tests.git_server import GitWorkspace
from tests.ssh_hosts import SSHD, SshFleet

TARGET_COLD_S = 0.5
TARGET_WARM_S = 0.050
TARGET_BYTES_RATIO = 2.0
ACTOR = Actor(id="U0BENCH", name="bench", via="cli")
SCRIPT_FLIP = "ln -sfn releases/{sha} current.tmp && mv -T current.tmp current"

say = progress("deploy")

# name, label in the report; the ways of flipping a set of hosts to the other release
WAYS = (
    ("script", "script: new connection + shell command, host after host (baseline)"),
    ("script_parallel", "script, one thread per host"),
    ("port_cold", "Andon (a): `releases.activate`, new transport (connecting)"),
    ("port_warm", "Andon (a): `releases.activate`, pooled connections"),
    ("engine_cold", "Andon (b): `/rollback` through the engine, transports closed before"),
    ("engine_warm", "Andon (b): `/rollback` through the engine, the next one (warm)"),
)
# Run together, in this order, within a round; the groups rotate from round to round.
GROUPS = (
    ("script",),
    ("script_parallel",),
    ("port_cold", "port_warm"),
    ("engine_cold", "engine_warm"),
)


def _ms(seconds: list[float], how: Callable[[list[float]], float] = median) -> float:
    return how(seconds) * 1000 if seconds else float("nan")


# --- hosts and releases on them ----------------------------------------------------------------


def live_on(path: str) -> str | None:
    """What ``current`` points at, read on the local filesystem (the hosts are this machine)."""
    try:
        return os.readlink(f"{path}/current").rstrip("/").rsplit("/", 1)[-1]
    except OSError:
        return None


def point_locally(paths: list[str], revision: str) -> None:
    """Set ``current`` without SSH (untimed, between measurements): an atomic local rename."""
    for path in paths:
        temporary = f"{path}/.current.bench"
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        os.symlink(f"releases/{revision}", temporary)
        os.replace(temporary, f"{path}/current")


def git_commit(workspace: GitWorkspace, files: dict[str, bytes], message: str) -> str:
    for name, data in files.items():
        path = workspace.clone / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    workspace.git("add", "-A")
    workspace.git("commit", "-q", "-m", message)
    return workspace.git("rev-parse", "HEAD").strip()


def workspace(root: Path) -> GitWorkspace:
    """A repository whose git ignores this host's configuration (as tests/git_server.py does)."""
    return GitWorkspace(root, author=("Dana Kim", "dana@example.com"), env={})


# --- 1. rollback --------------------------------------------------------------------------------


@dataclass
class Lab:
    """The fleet, Andon on SQLite with one environment per size, and the two releases."""

    fleet: SshFleet
    andon: Andon
    revisions: tuple[str, str]
    hosts: dict[int, list[Host]]  # size → the environment's hosts, with their paths

    def env(self, size: int) -> str:
        return f"hosts{size}"

    def other(self, revision: str | None) -> str:
        first, second = self.revisions
        return second if revision == first else first


def andon_toml(fleet: SshFleet, clone: Path, hosts: dict[int, list[Host]]) -> str:
    lines = ["[repo]", f"path = {json.dumps(str(clone))}", 'branch = "main"']
    for size, chosen in hosts.items():
        tables = ", ".join(
            f'{{ host = "{h.host}", user = "{h.user}", port = {h.port}, path = "{h.path}" }}'
            for h in chosen
        )
        lines += [
            "",
            f"[environments.hosts{size}]",
            'path = "/srv/unused"',
            f"hosts = [{tables}]",
            f"ssh_key = {json.dumps(str(fleet.key_path))}",
            f"known_hosts = {json.dumps(str(fleet.known_hosts_path))}",
        ]
    return "\n".join(lines) + "\n"


def open_lab(fleet: SshFleet, scratch: Path, sizes: tuple[int, ...]) -> Lab:
    """Andon as ``andon serve`` builds it (``open_andon``), its courier left stopped: messages
    are queued in the outbox, as in production, but not delivered."""
    repo = workspace(scratch / "small")
    first = git_commit(repo, {"app.py": b"print('v1')\n", "static/site.css": b"body {}\n"}, "v1")
    second = git_commit(repo, {"app.py": b"print('v2')\n"}, "v2")
    hosts = {
        size: [
            Host(host="127.0.0.1", user=h.user, port=h.port, path=f"{h.path}/env{size}")
            for h in fleet.hosts[:size]
        ]
        for size in sizes
    }
    config_path = scratch / "andon.toml"
    config_path.write_text(andon_toml(fleet, repo.clone, hosts))
    settings = Settings(
        andon_database_url=f"sqlite:///{scratch / 'andon.db'}",
        andon_config=str(config_path),
        slack_bot_token=None,
    )
    andon = open_andon(
        settings, TerminalChat(io.StringIO()), config=load_config(config_path), create=True
    )
    lab = Lab(fleet, andon, (first, second), hosts)
    for revision in (first, second):
        report = BuildReport(
            provider="generic",
            revision=revision,
            branch="main",
            status=BuildStatus.PASSED,
            run_id=revision[:8],
        )
        andon.record_ci(report, delivery=None)
    for revision in (first, second):
        for size in sizes:
            say(f"setup: deploy {revision[:7]} to {lab.env(size)} through the engine")
            result = andon.execute(
                DeployIntent(revision=revision, environment=lab.env(size)), ACTOR
            )
            finish(lab, result, revision, size)
    return lab


def finish(lab: Lab, result: object, revision: str, size: int) -> None:
    """Wait for the deployer's thread; the deploy must have succeeded on every host."""
    if not isinstance(result, Accepted):
        raise RuntimeError(f"{lab.env(size)}: not accepted: {result!r}")
    deployer = lab.andon.deployer
    assert deployer is not None
    deployer.wait()
    with lab.andon.database.reading() as session:
        view = records.view(session, result.deploy.id)
    if view.status != DeployState.SUCCEEDED:
        raise RuntimeError(f"{view.kind} #{view.id} to {lab.env(size)}: {view.status} {view.error}")
    wrong = [h.path for h in lab.hosts[size] if live_on(str(h.path)) != revision]
    if wrong:
        raise RuntimeError(f"{view.kind} #{view.id} succeeded but {wrong} do not run {revision}")


def flip_script(lab: Lab, hosts: list[Host], revision: str, *, parallel: bool) -> float:
    """The baseline: per host a new SSH connection and one shell command."""
    fleet = lab.fleet

    def one(host: Host) -> None:
        client = paramiko.SSHClient()
        client.load_host_keys(str(fleet.known_hosts_path))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(
                host.host,
                port=host.port,
                username=host.user,
                key_filename=str(fleet.key_path),
                allow_agent=False,
                look_for_keys=False,
                timeout=10,
            )
            command = f"cd {shlex.quote(str(host.path))} && {SCRIPT_FLIP.format(sha=revision)}"
            _, out, _ = client.exec_command(command, timeout=30)
            status = out.channel.recv_exit_status()
        finally:
            client.close()
        if status != 0:
            raise RuntimeError(f"{host.address}: the flip exited {status}")

    started = time.perf_counter()
    if parallel:
        with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
            list(pool.map(one, hosts))
    else:
        for host in hosts:
            one(host)
    return time.perf_counter() - started


def flip_port(transport: Transport, hosts: list[Host], revision: str) -> float:
    """Andon (a): ``releases.activate`` per host, in parallel, through the transport's pool."""

    def one(host: Host) -> None:
        connection = transport.connect(host)
        try:
            releases.activate(connection, str(host.path), revision)
        finally:
            connection.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        list(pool.map(one, hosts))
    return time.perf_counter() - started


def rollback(lab: Lab, size: int, revision: str) -> dict[str, float]:
    """Andon (b): ``/rollback <env> <sha> confirm`` as a person types it, to the end of the run
    (``confirm``: the rounds go back and forth, so each target was rolled back from before)."""
    deployer = lab.andon.deployer
    assert deployer is not None
    intent = RollbackIntent(environment=lab.env(size), revision=revision, confirmed=True)
    started = time.perf_counter()
    result = lab.andon.execute(intent, ACTOR)
    answered = time.perf_counter()
    deployer.wait()
    done = time.perf_counter()
    finish(lab, result, revision, size)
    return {"total_s": done - started, "request_s": answered - started}


@dataclass
class Rollbacks:
    seconds: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    request_s: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    breakdown: dict[str, Any] = field(default_factory=dict)
    what_if: dict[str, list[float]] = field(default_factory=dict)


def bench_rollbacks(lab: Lab, sizes: tuple[int, ...], reps: int) -> Rollbacks:
    out = Rollbacks()
    deployer = lab.andon.deployer
    assert deployer is not None
    fleet = lab.fleet
    for r in range(reps):
        say(f"rollback: round {r + 1}/{reps}")
        for size in sizes:
            hosts = lab.hosts[size]
            paths = [str(h.path) for h in hosts]
            for group in rotated(GROUPS, r + size):
                if group[0].startswith("engine"):
                    as_recorded(lab, size)
                    deployer.hosts.close()  # cold: the process's transports start afresh
                    for name in group:
                        target = lab.other(live_on(paths[0]))
                        took = rollback(lab, size, target)
                        out.seconds[name, size].append(took["total_s"])
                        out.request_s[name, size].append(took["request_s"])
                elif group[0].startswith("port"):
                    transport = SshTransport(str(fleet.key_path), str(fleet.known_hosts_path))
                    try:
                        for name in group:
                            target = lab.other(live_on(paths[0]))
                            out.seconds[name, size].append(flip_port(transport, hosts, target))
                            check_all(paths, target, name)
                    finally:
                        transport.close()
                else:
                    name = group[0]
                    target = lab.other(live_on(paths[0]))
                    parallel = name == "script_parallel"
                    out.seconds[name, size].append(
                        flip_script(lab, hosts, target, parallel=parallel)
                    )
                    check_all(paths, target, name)
    size = max(sizes)
    say(f"rollback: one more warm rollback of {size} hosts, clocked inside")
    out.breakdown = clocked_rollback(lab, size)
    say(f"rollback: what-ifs, warm, {size} hosts, with parts of the engine switched off")
    out.what_if = what_ifs(lab, size, max(3, reps // 2 + 1))
    return out


def as_recorded(lab: Lab, size: int) -> None:
    """The hosts as the database knows them (the other ways flip behind its back)."""
    with lab.andon.database.reading() as session:
        known = records.live(session, lab.env(size))
    assert known is not None
    point_locally([str(h.path) for h in lab.hosts[size]], known.revision)


def check_all(paths: list[str], revision: str, name: str) -> None:
    wrong = [p for p in paths if live_on(p) != revision]
    if wrong:
        raise RuntimeError(
            f"{name}: {len(wrong)} hosts do not point at {revision[:7]}: {wrong[:3]}"
        )


# --- where a warm rollback's time goes ----------------------------------------------------------


class Clocks:
    """Seconds spent, by what, summed over every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.spans: dict[str, list[float]] = defaultdict(list)

    def add(self, name: str, seconds: float) -> None:
        with self._lock:
            self.spans[name].append(seconds)


POOLED_CONNECT = "ssh connect (pooled: an SFTP round trip to check it unless it answered < 1 s ago)"


class ClockedTransport:
    def __init__(self, inner: Transport, clocks: Clocks) -> None:
        self._inner, self._clocks = inner, clocks

    def connect(self, host: Host) -> Connection:
        started = time.perf_counter()
        connection = self._inner.connect(host)
        self._clocks.add(POOLED_CONNECT, _since(started))
        return ClockedConnection(connection, self._clocks)  # type: ignore[return-value]

    def close(self) -> None:
        self._inner.close()


class ClockedConnection:
    def __init__(self, inner: Connection, clocks: Clocks) -> None:
        self._inner, self._clocks = inner, clocks
        self.address = inner.address

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)
        if not callable(method):
            return method

        def clocked(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self._clocks.add(f"ssh {name}", _since(started))

        return clocked


def _since(started: float) -> float:
    return time.perf_counter() - started


UNIT_WAIT = "unit of work: waiting for the SQLite writer lock"
UNIT_WORK = "unit of work: its statements and the progress message"
UNIT_COMMIT = "unit of work: flush and COMMIT"
ANNOUNCE = (
    "… of which the progress message: `Progress.show` (the deploy's view from the host rows it "
    "keeps, rendered, the outbox's update queued)"
)


def clocked_units(
    units: Callable[[], AbstractContextManager[Any]], clocks: Clocks
) -> Callable[[], AbstractContextManager[Any]]:
    @contextmanager
    def wrapped() -> Iterator[Any]:
        asked = time.perf_counter()
        with units() as pair:
            entered = time.perf_counter()
            yield pair
            worked = time.perf_counter()
        clocks.add(UNIT_WAIT, entered - asked)
        clocks.add(UNIT_WORK, worked - entered)
        clocks.add(UNIT_COMMIT, _since(worked))

    return wrapped


def clocked_rollback(lab: Lab, size: int) -> dict[str, Any]:
    deployer = lab.andon.deployer
    assert deployer is not None
    crew = deployer.crew
    clocks = Clocks()
    units, transport_for = crew.units, crew.transport_for
    announce = Progress.show

    def clocked_announce(progress: Any, *args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        try:
            announce(progress, *args, **kwargs)
        finally:
            clocks.add(ANNOUNCE, _since(started))

    crew.units = clocked_units(units, clocks)
    crew.transport_for = lambda environment: ClockedTransport(transport_for(environment), clocks)
    Progress.show = clocked_announce  # type: ignore[method-assign]
    paths = [str(h.path) for h in lab.hosts[size]]
    as_recorded(lab, size)
    try:
        rollback(lab, size, lab.other(live_on(paths[0])))  # warms the pool, not clocked
        clocks.spans.clear()
        took = rollback(lab, size, lab.other(live_on(paths[0])))
    finally:
        crew.units, crew.transport_for = units, transport_for
        Progress.show = announce  # type: ignore[method-assign]
    return {
        "hosts": size,
        "total_s": took["total_s"],
        "request_s": took["request_s"],
        "spans": {name: [len(s), sum(s), max(s)] for name, s in clocks.spans.items()},
    }


# Not Andon's behaviour: the engine with one of its methods made a no-op, to measure what that
# part costs in a warm rollback (the hosts flip all the same).
WHAT_IFS = (
    ("as_is", "as Andon runs it (the same warm rollback, for reference)", {}),
    (
        "no_announce",
        "`Progress.show` a no-op: the host steps recorded, the progress message never updated",
        {"show": lambda progress, *args, **kwargs: None},
    ),
    (
        "no_marks",
        "`Progress.write` and `Progress.note` no-ops: no per-host record before the end, no"
        " update (the message still at begin and end)",
        {
            "write": lambda progress, *args, **kwargs: None,
            "note": lambda progress, *args, **kwargs: None,
        },
    ),
)


def what_ifs(lab: Lab, size: int, rounds: int) -> dict[str, list[float]]:
    found: dict[str, list[float]] = defaultdict(list)
    paths = [str(h.path) for h in lab.hosts[size]]
    for r in range(rounds):
        for name, _, patches in rotated(WHAT_IFS, r):
            saved = {attribute: getattr(Progress, attribute) for attribute in patches}
            as_recorded(lab, size)
            try:
                for attribute, replacement in patches.items():
                    setattr(Progress, attribute, replacement)
                took = rollback(lab, size, lab.other(live_on(paths[0])))
            finally:
                for attribute, original in saved.items():
                    setattr(Progress, attribute, original)
            found[name].append(took["total_s"])
    return found


# --- 2. redeploy: full upload, delta, rsync ----------------------------------------------------


@dataclass
class Upload:
    seconds: list[float] = field(default_factory=list)
    payload_sent: list[int] = field(default_factory=list)  # Staged.bytes_sent / rsync's stats
    wire_sent: list[int | None] = field(default_factory=list)  # SSH bytes, client to host
    wire_received: list[int | None] = field(default_factory=list)
    files_sent: list[int] = field(default_factory=list)
    linked: list[int] = field(default_factory=list)  # files sharing an inode with the last release

    def summary(self) -> dict[str, Any]:
        return {
            "median_s": median(self.seconds),
            "max_s": max(self.seconds),
            "payload_sent": median(self.payload_sent),
            "wire_sent": _median_or_none(self.wire_sent),
            "wire_received": _median_or_none(self.wire_received),
            "files_sent": median(self.files_sent),
            "linked": median(self.linked),
        }


def _median_or_none(values: list[int | None]) -> float | None:
    known = [v for v in values if v is not None]
    return median(known) if len(known) == len(values) and known else None


@dataclass
class Redeploy:
    files: int
    tree_bytes: int
    changed_files: int
    changed_bytes: int
    cut_s: list[float]
    hash_s: float
    git_archive_s: list[float]
    manifest_bytes: int
    manifest_gz_bytes: int
    sums_bytes: int
    archive_bytes: int  # the delta's tar, as sent
    archive_gz_bytes: int  # the same, gzip'd (level 6): what compressing the stream would send
    uploads: dict[str, Upload]
    ssh_true_s: list[float]
    connect_s: list[float]
    exec_s: list[float]  # ``Connection.run("true")`` on the open connection
    delta_breakdown: dict[str, Any]


def make_tree(root: Path, files: int, rng: random.Random) -> dict[str, bytes]:
    """``files`` files of random bytes, 9,000–11,000 each (10 kB on average), 100 a folder."""
    return {
        f"src/d{i // 100:02d}/f{i:04d}.bin": rng.randbytes(rng.randint(9000, 11000))
        for i in range(files)
    }


def _packets(connection: Connection) -> tuple[int, int] | None:
    """paramiko's own counters of SSH bytes sent and received (reset only at a rekey, 512 MB)."""
    client = getattr(connection, "client", None)
    transport = client.get_transport() if client is not None else None
    packetizer = getattr(transport, "packetizer", None)
    sent = getattr(packetizer, "_Packetizer__sent_bytes", None)
    received = getattr(packetizer, "_Packetizer__received_bytes", None)
    return (sent, received) if isinstance(sent, int) and isinstance(received, int) else None


def _linked(directory: Path) -> int:
    return sum(1 for path in directory.rglob("*") if path.is_file() and path.stat().st_nlink > 1)


def stage_once(connection: Connection, path: str, bundle: TreeBundle, upload: Upload) -> None:
    """One ``releases.stage``, timed, with a bundle that has written no archive yet (the
    archive is part of what a deploy costs)."""
    fresh = TreeBundle(revision=bundle.revision, root=bundle.root, manifest=bundle.manifest)
    release = Path(releases.release_dir(path, bundle.revision))
    shutil.rmtree(release, ignore_errors=True)
    shutil.rmtree(f"{release}.partial", ignore_errors=True)
    before = _packets(connection)
    started = time.perf_counter()
    staged = releases.stage(connection, path, fresh)
    took = time.perf_counter() - started
    after = _packets(connection)
    upload.seconds.append(took)
    upload.payload_sent.append(staged.bytes_sent)
    upload.files_sent.append(staged.files_sent)
    counted = before is not None and after is not None and after[0] >= before[0]  # no rekey
    upload.wire_sent.append(after[0] - before[0] if counted else None)  # type: ignore[index]
    upload.wire_received.append(after[1] - before[1] if counted else None)  # type: ignore[index]
    upload.linked.append(_linked(release))


_TOTAL_SENT = re.compile(r"Total bytes sent:\s*([\d,.]+)")
_FILES_SENT = re.compile(r"Number of regular files transferred:\s*([\d,.]+)")
_TRANSFERRED = re.compile(r"Transferred: sent (\d+), received (\d+) bytes")


def _number(found: re.Match[str] | None) -> int:
    return int(re.sub(r"[,.]", "", found.group(1))) if found else -1


def ssh_options(fleet: SshFleet, port: int) -> list[str]:
    return [
        "-p",
        str(port),
        "-i",
        str(fleet.key_path),
        "-o",
        f"UserKnownHostsFile={fleet.known_hosts_path}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
    ]


def rsync_once(
    fleet: SshFleet, source: Path, path: str, previous: str, revision: str, upload: Upload | None
) -> None:
    host = fleet.hosts[0]
    release = Path(path) / "releases" / revision
    shutil.rmtree(release, ignore_errors=True)
    shell = shlex.join(["ssh", "-v", *ssh_options(fleet, host.port)])
    command = ["rsync", "-a", "--delete", "--stats", "--exclude=/.git", "-e", shell]
    if previous:
        command.append(f"--link-dest=../{previous}")
    command += [f"{source}/", f"{host.user}@127.0.0.1:{release}/"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"rsync exited {done.returncode}:\n{done.stderr[-2000:]}")
    if upload is None:
        return
    wire = _TRANSFERRED.search(done.stderr)
    upload.seconds.append(took)
    upload.payload_sent.append(_number(_TOTAL_SENT.search(done.stdout)))
    upload.files_sent.append(_number(_FILES_SENT.search(done.stdout)))
    upload.wire_sent.append(int(wire.group(1)) if wire else None)
    upload.wire_received.append(int(wire.group(2)) if wire else None)
    upload.linked.append(_linked(release))


def ssh_true(fleet: SshFleet) -> float:
    host = fleet.hosts[0]
    command = ["ssh", *ssh_options(fleet, host.port), f"{host.user}@127.0.0.1", "true"]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    return time.perf_counter() - started


def paramiko_connect(fleet: SshFleet, host: Host) -> float:
    """What Andon's first stage on a host pays first: a new transport's connection."""
    transport = SshTransport(str(fleet.key_path), str(fleet.known_hosts_path))
    try:
        started = time.perf_counter()
        transport.connect(host).close()
        return time.perf_counter() - started
    finally:
        transport.close()


@dataclass
class Trees:
    """The redeployed checkout: the previous commit, the next one (1 % of the files changed)."""

    repo: GitWorkspace
    tree: dict[str, bytes]
    changes: dict[str, bytes]
    previous: str
    revision: str


def commit_trees(scratch: Path, args: argparse.Namespace) -> Trees:
    rng = random.Random(args.seed)
    repo = workspace(scratch / "big")
    say(f"redeploy: {args.files} files of random bytes, committed (not timed)")
    tree = make_tree(repo.clone, args.files, rng)
    previous = git_commit(repo, tree, "the tree")
    changed_names = sorted(rng.sample(sorted(tree), max(1, args.files // 100)))
    changes = {name: rng.randbytes(rng.randint(9000, 11000)) for name in changed_names}
    revision = git_commit(repo, changes, "1 % of the files changed")
    return Trees(repo, tree, changes, previous, revision)


@dataclass
class Cuts:
    """Andon's bundles of both commits, and what cutting the next one cost."""

    bundle: TreeBundle
    old: TreeBundle
    cut_s: list[float]
    hash_s: float
    git_archive_s: list[float]


def cut_bundles(trees: Trees, scratch: Path, redeploys: int) -> Cuts:
    say("redeploy: the bundle cut (git archive + hashing)")
    source = GitSource(trees.repo.clone)
    cut_s = []
    bundle = None
    for r in range(redeploys):
        started = time.perf_counter()
        bundle = cut(source, trees.revision, workdir=scratch / f"cut-{r}", build=None)
        cut_s.append(time.perf_counter() - started)
    assert bundle is not None
    started = time.perf_counter()
    scan(bundle.root)
    hash_s = time.perf_counter() - started
    git_archive_s = []
    for _ in range(redeploys):  # the first step of a cut alone, to /dev/null
        started = time.perf_counter()
        subprocess.run(
            ["git", "-C", str(trees.repo.clone), "archive", "--format=tar", trees.revision],
            check=True,
            stdout=subprocess.DEVNULL,
            env=trees.repo.env,
            timeout=120,
        )
        git_archive_s.append(time.perf_counter() - started)
    old = cut(source, trees.previous, workdir=scratch / "cut-previous", build=None)
    return Cuts(bundle, old, cut_s, hash_s, git_archive_s)


@dataclass
class Uploads:
    """The timed uploads, commands on the open connection and the clocked delta."""

    uploads: dict[str, Upload]
    exec_s: list[float]
    delta_breakdown: dict[str, Any]


def upload_rounds(
    fleet: SshFleet, connection: Connection, trees: Trees, cuts: Cuts, redeploys: int
) -> Uploads:
    """The full upload, Andon's delta and rsync, interleaved, then the delta once more clocked."""
    full, delta, mirror = (
        f"{fleet.hosts[0].path}/redeploy-{n}" for n in ("full", "delta", "rsync")
    )
    uploads = {name: Upload() for name in ("full", "delta", "rsync")}
    say("redeploy: Andon's delta — the previous release staged and live first")
    releases.stage(connection, delta, cuts.old)
    releases.activate(connection, delta, cuts.old.revision)
    for r in range(redeploys):
        say(f"redeploy: round {r + 1}/{redeploys}: full upload, delta, rsync")
        for name in rotated(("full", "delta", "rsync"), r):
            if name == "full":
                shutil.rmtree(full, ignore_errors=True)  # no current, no release
                stage_once(connection, full, cuts.bundle, uploads["full"])
            elif name == "delta":
                stage_once(connection, delta, cuts.bundle, uploads["delta"])
            else:
                if r == 0:
                    rsync_previous(fleet, trees, mirror)
                rsync_once(
                    fleet,
                    trees.repo.clone,
                    mirror,
                    trees.previous,
                    trees.revision,
                    uploads["rsync"],
                )
    exec_s = []
    for _ in range(10):
        started = time.perf_counter()
        connection.run("true", cwd=delta, timeout=30)
        exec_s.append(time.perf_counter() - started)
    say("redeploy: one more delta, each call to the host clocked")
    clocks, clocked = Clocks(), Upload()
    stage_once(ClockedConnection(connection, clocks), delta, cuts.bundle, clocked)
    delta_breakdown = {
        "total_s": clocked.seconds[0],
        "spans": {name: [len(t), sum(t)] for name, t in clocks.spans.items()},
    }
    return Uploads(uploads, exec_s, delta_breakdown)


def rsync_previous(fleet: SshFleet, trees: Trees, mirror: str) -> None:
    """rsync's previous release, from the checkout at it: what ``--link-dest`` links to."""
    trees.repo.git("checkout", "-q", trees.previous)
    os.makedirs(f"{mirror}/releases", exist_ok=True)
    rsync_once(fleet, trees.repo.clone, mirror, "", trees.previous, None)
    trees.repo.git("checkout", "-q", "main")


def bench_redeploy(fleet: SshFleet, scratch: Path, args: argparse.Namespace) -> Redeploy:
    trees = commit_trees(scratch, args)
    cuts = cut_bundles(trees, scratch, args.redeploys)
    host = fleet.hosts[0]
    ssh_host = Host(host="127.0.0.1", user=host.user, port=host.port)
    transport = SshTransport(str(fleet.key_path), str(fleet.known_hosts_path))
    try:
        connection = transport.connect(ssh_host)
        try:
            done = upload_rounds(fleet, connection, trees, cuts, args.redeploys)
        finally:
            connection.close()
    finally:
        transport.close()
    ssh_s = [ssh_true(fleet) for _ in range(max(3, args.redeploys))]
    connect_s = [paramiko_connect(fleet, ssh_host) for _ in range(max(3, args.redeploys))]
    return redeploy_figures(trees, cuts, done, ssh_true_s=ssh_s, connect_s=connect_s)


def redeploy_figures(
    trees: Trees, cuts: Cuts, done: Uploads, *, ssh_true_s: list[float], connect_s: list[float]
) -> Redeploy:
    """The sizes of what was sent beside the timings."""
    tree, changes, bundle = trees.tree, trees.changes, cuts.bundle
    archive, _ = bundle.archive(manifest.changes(cuts.old.manifest, bundle.manifest)[0])
    listed = manifest.dumps(bundle.manifest).encode()
    return Redeploy(
        files=len(tree),
        tree_bytes=sum(len(tree[n]) if n not in changes else len(changes[n]) for n in tree),
        changed_files=len(changes),
        changed_bytes=sum(len(data) for data in changes.values()),
        cut_s=cuts.cut_s,
        hash_s=cuts.hash_s,
        git_archive_s=cuts.git_archive_s,
        manifest_bytes=len(listed),
        manifest_gz_bytes=len(gzip.compress(listed)),
        sums_bytes=len(manifest.sums(bundle.manifest).encode()),
        archive_bytes=archive.stat().st_size,
        archive_gz_bytes=len(gzip.compress(archive.read_bytes())),
        uploads=done.uploads,
        ssh_true_s=ssh_true_s,
        connect_s=connect_s,
        exec_s=done.exec_s,
        delta_breakdown=done.delta_breakdown,
    )


# --- 3. atomicity -------------------------------------------------------------------------------


@dataclass
class Flips:
    way: str
    flips: int
    seconds: float
    reads: int
    failures: int
    first_failure: str


def read_loop(path: str, expected: set[bytes], stop: threading.Event, out: dict[str, Any]) -> None:
    target = f"{path}/current/REVISION"
    reads = failures = 0
    first = ""
    while not stop.is_set():
        reads += 1
        try:
            with open(target, "rb") as file:
                data = file.read()
        except OSError as error:
            failures += 1
            first = first or f"{type(error).__name__}: {error.strerror}"
            continue
        if data not in expected:
            failures += 1
            first = first or f"read {data[:40]!r}"
    out.update(reads=reads, failures=failures, first=first)


def bench_atomicity(fleet: SshFleet, count: int) -> list[Flips]:
    host = fleet.hosts[0]
    path = f"{host.path}/atomic"
    revisions = ("a" * 40, "b" * 40)
    for revision in revisions:
        os.makedirs(f"{path}/releases/{revision}")
        Path(f"{path}/releases/{revision}/REVISION").write_text(f"{revision}\n")
    point_locally([path], revisions[0])
    expected = {f"{r}\n".encode() for r in revisions}
    transport = SshTransport(str(fleet.key_path), str(fleet.known_hosts_path))
    ssh_host = Host(host="127.0.0.1", user=host.user, port=host.port)
    found = []
    try:
        connection = transport.connect(ssh_host)
        try:

            def by_rename(revision: str) -> None:
                releases.activate(connection, path, revision)

            def by_unlink(revision: str) -> None:  # the control: a window with no current
                connection.remove_files(path, ["current"])
                connection.symlink(f"releases/{revision}", f"{path}/current")

            for way, flip in (("rename", by_rename), ("unlink", by_unlink)):
                say(f"atomicity: {count} flips by {way} under a reading thread")
                stop, out = threading.Event(), {}
                reader = threading.Thread(target=read_loop, args=(path, expected, stop, out))
                reader.start()
                started = time.perf_counter()
                try:
                    for i in range(count):
                        flip(revisions[(i + 1) % 2])
                finally:
                    took = time.perf_counter() - started
                    stop.set()
                    reader.join()
                found.append(Flips(way, count, took, out["reads"], out["failures"], out["first"]))
                point_locally([path], revisions[0])
        finally:
            connection.close()
    finally:
        transport.close()
    return found


class Neighbours:
    """Other work on the machine while this runs (a benchmark's figures depend on it): every
    second, the processes running pytest, a benchmark or an Andon server, and the load."""

    PATTERNS = ("pytest", "bench/", "bot.cli", "bin/andon")

    def __init__(self) -> None:
        self.samples = 0
        self.seen: dict[str, int] = defaultdict(int)  # what → in how many samples
        self.loads: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="neighbours", daemon=True)

    def __enter__(self) -> "Neighbours":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            self.samples += 1
            with suppress(OSError, ValueError, IndexError):
                self.loads.append(float(load_average()))
            found = set()
            for entry in os.listdir("/proc"):
                if not entry.isdigit() or int(entry) == os.getpid():
                    continue
                with suppress(OSError):
                    line = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
                    text = line.decode(errors="replace")
                    found |= {p.strip("/") for p in self.PATTERNS if p in text}
            for what in found:
                self.seen[what] += 1

    def summary(self) -> str:
        if not self.seen:
            return f"nothing else seen running ({self.samples} looks, one a second)"
        named = ", ".join(f"{what} in {n}" for what, n in sorted(self.seen.items()))
        return f"{named} of {self.samples} looks (one a second)"


# --- the machine --------------------------------------------------------------------------------


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except OSError:
        return "not found"
    return ((done.stdout or done.stderr).strip().splitlines() or ["?"])[0]


def machine(load_before: str, scratch: str, neighbours: Neighbours) -> dict[str, str]:
    revision = commit()
    revision = f"{revision} + uncommitted changes" if revision and uncommitted() else revision
    return {
        **host(),
        "OpenSSH": _first_line(["ssh", "-V"]),
        "paramiko": metadata.version("paramiko"),
        "rsync": _first_line(["rsync", "--version"]),
        "git": _first_line(["git", "--version"]),
        "SQLite": sqlite3.sqlite_version,
        "hosts' directories": filesystem(scratch),
        "commit": revision or "unknown",
        "load average (1 min) before / highest / after": (
            f"{load_before} / {max(neighbours.loads, default=0):.2f} / {load_average()}"
        ),
        "other work during the run": neighbours.summary(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# --- the report ---------------------------------------------------------------------------------


def _mb(count: float | None) -> str:
    return "–" if count is None else f"{count / 1e6:.3f}"


CALLS = {
    "stage_tree": (
        "`cp -al` of the live release, the changed files unlinked, `tar -xzf -` and "
        "`sha256sum --quiet -c` of every file, in one exec channel"
    ),
    "verify": "`sha256sum --quiet -c -` of every file of the release (an exec channel)",
    "unpack": "`tar -xf -` of the changed files and Andon's two (an exec channel)",
    "link_copy": "`cp -al` of the live release (an exec channel)",
    "read_text": "the live release's `.andon-manifest`, over SFTP",
    "remove_files": "unlink the changed files in the copy, one SFTP request each",
    "exists": "SFTP `lstat`",
    "make_dirs": "SFTP `stat`/`mkdir`",
    "read_link": "where `current` points, SFTP",
    "rename": "`.partial` renamed into place, SFTP",
}


def markdown(
    box: dict[str, str],
    args: argparse.Namespace,
    sizes: tuple[int, ...],
    rolls: Rollbacks,
    redeploy: Redeploy,
    flips: list[Flips],
) -> str:
    out = machine_table(box)
    out += _rollback_table(args, sizes, rolls)
    out += _request_table(sizes, rolls)
    out += _rollback_breakdown(rolls.breakdown)
    out += _what_if_table(rolls, max(sizes))
    out += _redeploy_table(args, redeploy)
    out += _redeploy_notes(redeploy)
    out += _delta_breakdown(redeploy.delta_breakdown)
    out += _atomicity_table(flips)
    out += _targets(max(sizes), rolls, redeploy, flips)
    return "\n".join(out)


def _hosts_heads(sizes: tuple[int, ...]) -> str:
    return " | ".join(f"{n} host{'s' if n > 1 else ''}" for n in sizes)


def _rollback_table(
    args: argparse.Namespace, sizes: tuple[int, ...], rolls: Rollbacks
) -> list[str]:
    """Every way of rolling back, at every size, against the script's."""
    big = max(sizes)
    out = [
        "",
        f"**Rollback** — time until every host's `current` points at the other release, ms: "
        f"median (max) of {args.reps} rounds; the ways interleaved in each round, their order "
        "rotating. (b) is timed from `Andon.execute` to the end of the deployer's thread.",
        "",
        f"| way | {_hosts_heads(sizes)} | faster than the baseline, {big} hosts |",
        "|---|" + "--:|" * (len(sizes) + 1),
    ]
    base = _ms(rolls.seconds["script", big])
    for name, label in WAYS:
        cells = [
            f"{_ms(rolls.seconds[name, n]):.1f} ({_ms(rolls.seconds[name, n], max):.1f})"
            for n in sizes
        ]
        ratio = "–" if name == "script" else f"{base / _ms(rolls.seconds[name, big]):.1f}×"
        out.append(f"| {label} | {' | '.join(cells)} | {ratio} |")
    return out


def _request_table(sizes: tuple[int, ...], rolls: Rollbacks) -> list[str]:
    """(b)'s request alone: what the person typing ``/rollback`` waits for."""
    out = [
        "",
        "(b)'s request alone — `Andon.execute` of the `/rollback`, until it answers, ms: median",
        "",
        f"| | {_hosts_heads(sizes)} |",
        "|---|" + "--:|" * len(sizes),
    ]
    for name in ("engine_cold", "engine_warm"):
        cells = [f"{_ms(rolls.request_s[name, n]):.1f}" for n in sizes]
        out.append(f"| {name.replace('_', ', ')} | {' | '.join(cells)} |")
    return out


def _rollback_breakdown(b: dict[str, Any]) -> list[str]:
    """Where the clocked warm rollback spent its time, the units of work first."""
    out = [
        "",
        f"**Where a warm rollback of {b['hosts']} hosts through the engine spends its time** "
        f"(one more run, clocked: {b['total_s'] * 1000:.1f} ms in all, "
        f"{b['request_s'] * 1000:.1f} ms of it the request; sums over every thread)",
        "",
        "| what | calls | sum ms | max ms |",
        "|---|--:|--:|--:|",
    ]
    first = (UNIT_WAIT, UNIT_WORK, ANNOUNCE, UNIT_COMMIT)
    rest = sorted((n for n in b["spans"] if n not in first), key=lambda n: -b["spans"][n][1])
    for name in (*first, *rest):
        if name in b["spans"]:
            calls, total, longest = b["spans"][name]
            out.append(f"| {name} | {calls} | {total * 1000:.1f} | {longest * 1000:.1f} |")
    serial = sum(b["spans"].get(name, [0, 0.0])[1] for name in (UNIT_WORK, UNIT_COMMIT))
    units = b["spans"].get(UNIT_WORK, [0])[0]
    out += [
        "",
        f"The {units} units of work run one at a time (SQLite's one writer; the deploy's threads "
        f"queue on the in-process writer lock): their statements and commits alone add up to "
        f"{serial * 1000:.0f} of the {b['total_s'] * 1000:.0f} ms.",
    ]
    return out


def _what_if_table(rolls: Rollbacks, big: int) -> list[str]:
    out = [
        "",
        f"**What-if** — the same warm rollback of {big} hosts with one part of the engine "
        f"switched off by the benchmark (not Andon's behaviour), ms: median (max) of "
        f"{len(rolls.what_if.get('as_is', []))} rounds, interleaved",
        "",
        "| engine | ms |",
        "|---|--:|",
    ]
    for name, label, _ in WHAT_IFS:
        t = rolls.what_if.get(name, [])
        out.append(f"| {label} | {_ms(t):.1f} ({_ms(t, max):.1f}) |")
    return out


UPLOADS = {
    "full": "Andon, `releases.stage`, no previous release (full upload)",
    "delta": "Andon, `releases.stage`, previous release live (delta)",
    "rsync": "`rsync -a --delete --link-dest=../<prev>` over OpenSSH (baseline)",
}


def _redeploy_table(args: argparse.Namespace, r: Redeploy) -> list[str]:
    """The full upload, Andon's delta and rsync: time and bytes."""
    out = [
        "",
        f"**Redeploy to one host** — {r.files:,} files, {r.tree_bytes / 1e6:.1f} MB of random "
        f"bytes; {r.changed_files} files changed ({r.changed_bytes:,} bytes, the **changed "
        f"bytes**); median (max) of {args.redeploys} runs, interleaved. Andon's stage runs on an "
        "open (pooled) connection; rsync opens its own.",
        "",
        "| way | s | bytes sent, MB | ÷ changed bytes | SSH bytes sent · received, MB | "
        "files sent | hard-linked |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for name, label in UPLOADS.items():
        u = r.uploads[name].summary()
        out.append(
            f"| {label} | {u['median_s']:.2f} ({u['max_s']:.2f}) | "
            f"{_mb(u['payload_sent'])} | {u['payload_sent'] / r.changed_bytes:.2f}× | "
            f"{_mb(u['wire_sent'])} · {_mb(u['wire_received'])} | {u['files_sent']:.0f} | "
            f"{u['linked']:.0f} |"
        )
    return out


def _redeploy_notes(r: Redeploy) -> list[str]:
    """The cut, the archive's contents and what connecting costs, under the redeploy table."""
    overhead = r.archive_bytes - r.manifest_bytes - r.changed_bytes
    return [
        "",
        f"- Andon's cut of the bundle (`git archive`, extraction, hashing), once per deploy: "
        f"{median(r.cut_s):.2f} s median ({max(r.cut_s):.2f} max). Of it, `git archive` alone "
        f"(to /dev/null) {median(r.git_archive_s):.2f} s, the hashing alone (`bundle.scan`) "
        f"{r.hash_s:.2f} s; the rest is the extraction, {r.files:,} files written to this disk.",
        f"- What the delta's archive ({r.archive_bytes:,} bytes) holds besides the "
        f"{r.changed_bytes:,} changed bytes: the new `.andon-manifest` of every file "
        f"({r.manifest_bytes:,} bytes; gzip'd {r.manifest_gz_bytes:,}) and tar's headers and "
        f"padding ({overhead:,} bytes, {overhead / (r.changed_files + 2):,.0f} per member). The "
        f"archive gzip'd would be {r.archive_gz_bytes:,} bytes "
        f"({r.archive_gz_bytes / r.changed_bytes:.2f}× the changed bytes). Not in `bytes_sent`: "
        f"the checksum list fed to `sha256sum -c` ({r.sums_bytes:,} bytes per verify).",
        f"- Connecting: a bare OpenSSH connection, `ssh host true` (what each rsync run pays "
        f"first), {median(r.ssh_true_s) * 1000:.0f} ms median; a new `SshTransport`'s "
        f"connection (paramiko, with its SFTP session; what Andon's stage pays when the pool "
        f"has none), {median(r.connect_s) * 1000:.0f} ms; a command on an open connection, "
        f'`Connection.run("true")` (an SFTP `stat` and an exec channel: the host\'s sshd '
        f"starts the user's shell), {median(r.exec_s) * 1000:.0f} ms median of "
        f"{len(r.exec_s)}.",
    ]


def _delta_breakdown(d: dict[str, Any]) -> list[str]:
    """Each call the clocked delta made to the host, the longest first, then the local rest."""
    out = [
        "",
        f"**Where a delta's {d['total_s']:.2f} s go** (one more delta stage, each call to the "
        "host clocked; the rest is local: the manifests compared, the archive written)",
        "",
        "| call | what it does here | calls | ms |",
        "|---|---|--:|--:|",
    ]
    for name, (calls, total) in sorted(d["spans"].items(), key=lambda kv: -kv[1][1]):
        what = CALLS.get(name.removeprefix("ssh "), "")
        out.append(f"| `{name.removeprefix('ssh ')}` | {what} | {calls} | {total * 1000:.0f} |")
    local = d["total_s"] - sum(total for _, total in d["spans"].values())
    out.append(
        f"| (local) | the old manifest parsed, the delta computed, its archive written | | "
        f"{local * 1000:.0f} |"
    )
    return out


FLIP_LABELS = {
    "rename": "Andon: `releases.activate` (symlink to a temporary name, `posix_rename`)",
    "unlink": "control: unlink `current`, then symlink it again",
}


def _atomicity_table(flips: list[Flips]) -> list[str]:
    out = [
        "",
        "**Atomicity** — a thread opening and reading `current/REVISION` in a tight loop "
        "(local filesystem) while the flips run over SFTP",
        "",
        "| flip | flips | s | reads | failed reads |",
        "|---|--:|--:|--:|--:|",
    ]
    for f in flips:
        first = f" ({f.first_failure})" if f.first_failure else ""
        out.append(
            f"| {FLIP_LABELS[f.way]} | {f.flips} | {f.seconds:.2f} | {f.reads:,} | "
            f"{f.failures:,}{first} |"
        )
    return out


def _targets(big: int, rolls: Rollbacks, r: Redeploy, flips: list[Flips]) -> list[str]:
    """Each target with its figure and whether it was met."""
    cold, warm = _ms(rolls.seconds["engine_cold", big]), _ms(rolls.seconds["engine_warm", big])
    a_cold, a_warm = _ms(rolls.seconds["port_cold", big]), _ms(rolls.seconds["port_warm", big])
    delta, rsync = r.uploads["delta"].summary(), r.uploads["rsync"].summary()
    ratio = delta["payload_sent"] / r.changed_bytes
    atomic = next(f for f in flips if f.way == "rename")
    return [
        "",
        "**Targets**",
        "",
        f"- rollback of {big} hosts, cold, under {TARGET_COLD_S * 1000:.0f} ms: (b) through the "
        f"engine {cold:.1f} ms — {_verdict(cold < TARGET_COLD_S * 1000)}; (a) the flip alone "
        f"{a_cold:.1f} ms — {_verdict(a_cold < TARGET_COLD_S * 1000)}",
        f"- rollback of {big} hosts, warm, under {TARGET_WARM_S * 1000:.0f} ms: (b) through the "
        f"engine {warm:.1f} ms — {_verdict(warm < TARGET_WARM_S * 1000)}; (a) the flip alone "
        f"{a_warm:.1f} ms — {_verdict(a_warm < TARGET_WARM_S * 1000)}",
        f"- delta at least as fast as rsync: {delta['median_s']:.2f} s against "
        f"{rsync['median_s']:.2f} s — {_verdict(delta['median_s'] <= rsync['median_s'])}",
        f"- delta's bytes sent within {TARGET_BYTES_RATIO:.0f}× the changed bytes: "
        f"{delta['payload_sent']:,.0f} bytes, {ratio:.2f}× — "
        f"{_verdict(ratio <= TARGET_BYTES_RATIO)}",
        f"- no failed read during {atomic.flips} flips: {atomic.failures} failed of "
        f"{atomic.reads:,} reads — {_verdict(atomic.failures == 0)}",
    ]


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def raw(
    box: dict[str, str],
    args: argparse.Namespace,
    rolls: Rollbacks,
    redeploy: Redeploy,
    flips: list[Flips],
) -> dict[str, Any]:
    return {
        "machine": box,
        "settings": vars(args),
        "targets": {
            "rollback_cold_s": TARGET_COLD_S,
            "rollback_warm_s": TARGET_WARM_S,
            "delta_bytes_ratio": TARGET_BYTES_RATIO,
        },
        "rollback_s": {f"{name}/{size}": s for (name, size), s in rolls.seconds.items()},
        "rollback_request_s": {f"{name}/{size}": s for (name, size), s in rolls.request_s.items()},
        "warm_rollback_breakdown": rolls.breakdown,
        "warm_rollback_what_if_s": rolls.what_if,
        "redeploy": {
            **{k: v for k, v in vars(redeploy).items() if k != "uploads"},
            "uploads": {name: vars(u) for name, u in redeploy.uploads.items()},
        },
        "atomicity": [vars(f) for f in flips],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", action="store_true", help="print raw figures as JSON")
    parser.add_argument("--quick", action="store_true", help="2 rounds, 1 redeploy, 1,000 files")
    parser.add_argument("--hosts", type=int, default=20, help="the largest rollback")
    parser.add_argument("--reps", type=int, default=5, help="rounds of rollbacks")
    parser.add_argument("--redeploys", type=int, default=3, help="runs of each upload")
    parser.add_argument("--files", type=int, default=5000, help="files in the redeployed tree")
    parser.add_argument("--flips", type=int, default=100, help="flips under the reader")
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args(argv)
    if args.quick:
        args.reps, args.redeploys, args.files = 2, 1, 1000
    if not Path(SSHD).exists():
        say(f"no OpenSSH server ({SSHD}): apt-get install openssh-server rsync")
        return 2
    sizes = tuple(sorted({1, min(5, args.hosts), args.hosts}))
    load_before = load_average()
    with (
        Neighbours() as neighbours,
        tempfile.TemporaryDirectory(prefix="andon-bench-deploy-") as scratch,
    ):
        say(f"starting {args.hosts} sshd on loopback")
        with SshFleet(args.hosts) as fleet:
            lab = open_lab(fleet, Path(scratch), sizes)
            try:
                rolls = bench_rollbacks(lab, sizes, args.reps)
            finally:
                if lab.andon.deployer is not None:
                    lab.andon.deployer.close()
                lab.andon.database.dispose()
            redeploy = bench_redeploy(fleet, Path(scratch), args)
            flips = bench_atomicity(fleet, args.flips)
            box = machine(load_before, str(fleet.root), neighbours)
    if args.json:
        print(json.dumps(raw(box, args, rolls, redeploy, flips), indent=2, default=str))
    else:
        print(markdown(box, args, sizes, rolls, redeploy, flips))
    atomic = next(f for f in flips if f.way == "rename")
    if atomic.failures:
        say(f"the flip was not atomic: {atomic.failures} failed reads ({atomic.first_failure})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
