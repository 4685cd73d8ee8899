"""Rollback and delta redeploy of 1, 20, 100 and 250 hosts: time, memory, descriptors, threads
and connections, beside the sequential shell script a team would otherwise run.

The hosts are OpenSSH on loopback, as in ``bench/deploy.py``, but cheaper to start by the
hundred: one ``sshd`` listens on up to ``PORTS_PER_SSHD`` ports, and each port is a "host" with
its own release root (every connection still gets its own sshd session processes, as on a real
host). Andon runs in this process as ``andon serve`` builds it (``open_andon``, SQLite, the
courier stopped so messages wait in the outbox), one environment per size, two releases on every
host before anything is timed. ``rollback_stops_line = false``, no health check, no hooks.

Per size and round, in order:

- **rollback, cold**: ``/rollback <env> <previous> confirm`` with the deployer's SSH pools
  closed first (every host dialled); **warm**: the next rollback, back, through the pool;
- **redeploy, cold / warm**: ``/deploy`` of a new commit that changed one file (the delta: a
  hard-linked copy of the live release, the changed file, a checksum pass, then the flip) —
  pools closed first, then the next one warm;
- **script** (the baseline, once per size): host after host, ``ssh`` running
  ``ln -sfn && mv -T`` for a rollback; ``rsync --link-dest`` of the tree then the same flip over
  ``ssh`` for a redeploy (``--script-hosts N``: on the first N hosts only, scaled to the size —
  a sequential script's time is linear by construction).

While each run goes, a sampler reads this process's threads (``/proc/self/task``), descriptors
(``/proc/self/fd``) and resident memory, the most SSH connections the environment's pool held,
and the most connections the sshd held (ESTABLISHED on their ports). Memory is the process's
RSS, the Python interpreter and Andon's modules included. Targets: a warm rollback of 100 hosts
under 150 ms, cold under 1.5 s; memory under 300 MB at 250 hosts.

    .venv/bin/python bench/fleet.py [--sizes 1,20,100,250] [--reps 2] [--json] [--no-script]
        [--script-hosts N] [--max-connections N]
"""

import argparse
import gc
import getpass
import io
import itertools
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

from common import (
    commit,
    filesystem,
    host,
    load_average,
    machine_table,
    name_uncommitted,
    progress,
)

from bot.andon import Andon
from bot.hosts.ssh import MAX_CONNECTIONS
from bot.intents.typed import Deploy as DeployIntent
from bot.intents.typed import Rollback as RollbackIntent
from bot.main import open_andon
from bot.settings.environment import Settings
from bot.terminal.chat import TerminalChat
from core.actor import Actor
from core.ci.report import BuildReport, BuildStatus
from core.config.file import load as load_config
from core.deploy import records
from core.deploy.request import Accepted
from core.deploy.state import DeployState
from tests.git_server import GitWorkspace
from tests.harness import free_port
from tests.ssh_hosts import SSHD, generate_key, public_key

PORTS_PER_SSHD = 16  # OpenSSH's own limit of listening sockets per sshd
TARGET_WARM_100_S, TARGET_COLD_100_S, TARGET_RSS_250_MB = 0.150, 1.5, 300
ACTOR = Actor(id="U0BENCH", name="bench", via="cli")
FLIP = "ln -sfn releases/{sha} current.tmp && mv -T current.tmp current"
WAYS = ("rollback cold", "rollback warm", "redeploy cold", "redeploy warm")
SCRIPTS = ("script rollback", "script redeploy")

say = progress("fleet")


# --- the hosts -----------------------------------------------------------------------------


class Fleet:
    """``count`` hosts: ports of a few sshd on 127.0.0.1, one key for all, one root each."""

    def __init__(self, count: int, root: Path) -> None:
        root.mkdir(parents=True)
        self.root, self.user = root, getpass.getuser()
        self.key = generate_key(root / "client_ed25519")
        host_key = generate_key(root / "host_ed25519")
        (root / "authorized_keys").write_text(public_key(self.key) + "\n")
        self.ports: list[int] = []
        while len(self.ports) < count:  # a port just freed may be handed out twice
            if (port := free_port()) not in self.ports:
                self.ports.append(port)
        self.known_hosts = root / "known_hosts"
        self.known_hosts.write_text(
            "".join(f"[127.0.0.1]:{port} {public_key(host_key)}\n" for port in self.ports)
        )
        self.processes: list[subprocess.Popen[bytes]] = []
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        for first in range(0, count, PORTS_PER_SSHD):
            self._start(self.ports[first : first + PORTS_PER_SSHD], first)
        for port in self.ports:
            _wait_for_banner(port)

    def _start(self, ports: list[int], index: int) -> None:
        config = self.root / f"sshd_{index}.config"
        listen = "".join(f"ListenAddress 127.0.0.1:{port}\n" for port in ports)
        config.write_text(
            f"{listen}HostKey {self.root / 'host_ed25519'}\nPidFile {self.root}/sshd_{index}.pid\n"
            f"AuthorizedKeysFile {self.root / 'authorized_keys'}\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nUseDNS no\n"
            "PrintMotd no\nLogLevel ERROR\nMaxStartups 1000\nSubsystem sftp internal-sftp\n"
        )
        self.processes.append(
            subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )

    def path(self, index: int, size: int) -> str:
        return str(self.root / "apps" / str(index) / f"env{size}")

    def stop(self) -> None:
        for process in self.processes:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            process.wait(timeout=10)


def _wait_for_banner(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                if sock.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.02)


def live_on(path: str) -> str | None:
    try:
        return os.readlink(f"{path}/current").rstrip("/").rsplit("/", 1)[-1]
    except OSError:
        return None


# --- what is watched while a run goes --------------------------------------------------------


@dataclass
class Peaks:
    threads: int = 0
    fds: int = 0
    rss_mb: float = 0.0
    pool: int = 0  # the most SSH connections the environment's pool held at once
    sshd: int = 0  # the most connections the hosts' sshd held at once


class Sampler:
    """Reads this process and the sshd's sockets every few milliseconds while a run goes."""

    def __init__(self, ports: list[int], pool: Any) -> None:
        self._ports = {f"{port:04X}" for port in ports}
        self._pool, self.peaks = pool, Peaks()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=10)
        self._sample()

    def _watch(self) -> None:
        while not self._done.wait(0.01):
            self._sample()

    def _sample(self) -> None:
        peaks = self.peaks
        peaks.threads = max(peaks.threads, len(os.listdir("/proc/self/task")))
        peaks.fds = max(peaks.fds, len(os.listdir("/proc/self/fd")))
        peaks.rss_mb = max(peaks.rss_mb, _rss_mb())
        peaks.pool = max(peaks.pool, getattr(self._pool(), "open_now", 0))
        first = self._established()
        if len(first) > peaks.sshd:  # listed by two reads in a row: the table is not read at
            peaks.sshd = max(peaks.sshd, len(first & self._established()))  # one instant

    def _established(self) -> set[str]:
        """The sshd's ends of their connections (ESTABLISHED on an sshd's port)."""
        found = set()
        with open("/proc/net/tcp") as table:
            next(table)
            for row in table:
                parts = row.split(None, 4)
                if parts[3] == "01" and parts[1][-4:] in self._ports:
                    found.add(parts[2])
        return found


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- Andon ---------------------------------------------------------------------------------


@dataclass
class Lab:
    fleet: Fleet
    andon: Andon
    repo: GitWorkspace
    sizes: tuple[int, ...]
    live: dict[int, str] = field(default_factory=dict)  # size → what the hosts run
    previous: dict[int, str] = field(default_factory=dict)  # size → the release before it
    script_hosts: int | None = None  # the scripts run on this many hosts at most, then scale

    def env(self, size: int) -> str:
        return f"hosts{size}"

    def paths(self, size: int) -> list[str]:
        return [self.fleet.path(i, size) for i in range(size)]


def andon_toml(fleet: Fleet, clone: Path, sizes: tuple[int, ...], cap: int | None) -> str:
    lines = ["[repo]", f"path = {json.dumps(str(clone))}", 'branch = "main"']
    pool = [f"max_connections = {cap}"] if cap else []  # else Andon's default
    for size in sizes:
        tables = ", ".join(
            f'{{ host = "127.0.0.1", user = "{fleet.user}", port = {port}, '
            f'path = "{fleet.path(i, size)}" }}'
            for i, port in enumerate(fleet.ports[:size])
        )
        lines += [
            f"\n[environments.hosts{size}]",
            'path = "/srv/unused"',
            f"hosts = [{tables}]",
            f"ssh_key = {json.dumps(str(fleet.key))}",
            f"known_hosts = {json.dumps(str(fleet.known_hosts))}",
            'ssh_config = "none"',
            "rollback_stops_line = false",
            *pool,
        ]
    return "\n".join(lines) + "\n"


def open_lab(fleet: Fleet, scratch: Path, sizes: tuple[int, ...], cap: int | None) -> Lab:
    repo = GitWorkspace(scratch / "repo", author=("Dana Kim", "dana@example.com"), env={})
    config_path = scratch / "andon.toml"
    config_path.write_text(andon_toml(fleet, repo.clone, sizes, cap))
    settings = Settings(
        andon_database_url=f"sqlite:///{scratch / 'andon.db'}",
        andon_config=str(config_path),
        slack_bot_token=None,
    )
    andon = open_andon(
        settings, TerminalChat(io.StringIO()), config=load_config(config_path), create=True
    )
    lab = Lab(fleet, andon, repo, sizes)
    for _ in range(2):
        revision = new_release(lab)
        for size in sizes:
            say(f"setup: deploy {revision[:7]} to {lab.env(size)}")
            run(lab, DeployIntent(revision=revision, environment=lab.env(size)), size, revision)
    return lab


def new_release(lab: Lab) -> str:
    """A commit that changes one small file of a 200-file tree, passed by CI."""
    clone = lab.repo.clone
    if not (clone / "static").exists():
        (clone / "static").mkdir(parents=True)
        for i in range(200):
            (clone / "static" / f"page{i:03}.html").write_text(f"<p>page {i}</p>\n" * 40)
    (clone / "app.py").write_text(f"print({time.time_ns()})\n")
    lab.repo.git("add", "-A")
    lab.repo.git("commit", "-q", "-m", "release")
    revision = lab.repo.git("rev-parse", "HEAD").strip()
    report = BuildReport(
        provider="generic",
        revision=revision,
        branch="main",
        status=BuildStatus.PASSED,
        run_id=revision[:8],
    )
    lab.andon.record_ci(report, delivery=None)
    return revision


def run(lab: Lab, intent: Any, size: int, revision: str) -> float:
    """One deploy or rollback, from the command to the end of its run; checked on the hosts."""
    deployer = lab.andon.deployer
    assert deployer is not None
    started = time.perf_counter()
    result = lab.andon.execute(intent, ACTOR)
    if not isinstance(result, Accepted):
        raise RuntimeError(f"{lab.env(size)}: not accepted: {result!r}")
    deployer.wait()
    took = time.perf_counter() - started
    with lab.andon.database.reading() as session:
        view = records.view(session, result.deploy.id)
    if view.status != DeployState.SUCCEEDED:
        raise RuntimeError(f"{view.kind} #{view.id}: {view.status} {view.error}")
    wrong = [p for p in lab.paths(size) if live_on(p) != revision]
    if wrong:
        raise RuntimeError(f"{len(wrong)} hosts do not run {revision[:7]}: {wrong[:3]}")
    lab.live[size], lab.previous[size] = revision, lab.live.get(size, revision)
    return took


# --- the runs ------------------------------------------------------------------------------


@dataclass
class Figures:
    seconds: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    peaks: dict[tuple[str, int], Peaks] = field(default_factory=dict)


def timed(lab: Lab, figures: Figures, way: str, size: int, work: Any) -> None:
    deployer = lab.andon.deployer
    assert deployer is not None
    if way.endswith("cold") or way.startswith("script"):
        deployer.hosts.close()  # every host dialled afresh; none of Andon's left open
    pool = lambda: getattr(deployer.hosts(lab.env(size)), "_ssh", None)  # noqa: E731
    with Sampler(lab.fleet.ports[:size], pool) as sampler:
        took = work()
    figures.seconds[way, size].append(took)
    old = figures.peaks.get((way, size), Peaks())
    figures.peaks[way, size] = Peaks(
        *(max(a, b) for a, b in zip(vars(old).values(), vars(sampler.peaks).values(), strict=True))
    )
    say(f"{lab.env(size)}: {way} {took * 1000:.0f} ms, {sampler.peaks}")


def round_of(lab: Lab, figures: Figures, size: int) -> None:
    env = lab.env(size)
    for way in ("rollback cold", "rollback warm"):
        target = lab.previous[size]
        intent = RollbackIntent(environment=env, revision=target, confirmed=True)
        timed(lab, figures, way, size, lambda i=intent, t=target: run(lab, i, size, t))
    for way in ("redeploy cold", "redeploy warm"):
        revision = new_release(lab)
        intent = DeployIntent(revision=revision, environment=env)
        timed(lab, figures, way, size, lambda i=intent, r=revision: run(lab, i, size, r))


# --- the baseline: a shell script, host after host ----------------------------------------


def _ssh(lab: Lab) -> str:
    """OpenSSH as a script runs it: the fleet's key, its known_hosts, nothing asked."""
    fleet = lab.fleet
    return (
        f"ssh -i {fleet.key} -o UserKnownHostsFile={fleet.known_hosts} -o BatchMode=yes "
        "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -F none"
    )


def script_rollback(lab: Lab, hosts: int, size: int, revision: str) -> float:
    """Per host: ``ssh`` with the flip as its command, one host after the other."""
    fleet, ssh, started = lab.fleet, _ssh(lab), time.perf_counter()
    for index, port in enumerate(fleet.ports[:hosts]):
        flip = f"cd {shlex.quote(fleet.path(index, size))} && {FLIP.format(sha=revision)}"
        remote = f"{ssh} -p {port} {fleet.user}@127.0.0.1 {shlex.quote(flip)}"
        subprocess.run(shlex.split(remote), check=True, capture_output=True)
    return time.perf_counter() - started


def script_redeploy(
    lab: Lab, hosts: int, size: int, tree: Path, *, revision: str, base: str
) -> float:
    """Per host: ``rsync --link-dest`` of the tree into ``releases/<sha>``, then the flip."""
    fleet, ssh, started = lab.fleet, _ssh(lab), time.perf_counter()
    for index, port in enumerate(fleet.ports[:hosts]):
        path = fleet.path(index, size)
        target = f"{fleet.user}@127.0.0.1:{path}/releases/{revision}/"
        rsync = ["rsync", "-a", "--delete", f"--link-dest=../{base}", "-e", f"{ssh} -p {port}"]
        subprocess.run([*rsync, f"{tree}/", target], check=True, capture_output=True)
        flip = f"cd {shlex.quote(path)} && {FLIP.format(sha=revision)}"
        remote = f"{ssh} -p {port} {fleet.user}@127.0.0.1 {shlex.quote(flip)}"
        subprocess.run(shlex.split(remote), check=True, capture_output=True)
    return time.perf_counter() - started


def _scaled(run: Any, hosts: int, size: int) -> Any:
    """A sequential script on ``hosts`` of ``size`` hosts, scaled to all of them: it works
    host after host, so its time is linear by construction (the 1–100 host runs show it)."""
    return lambda: run() * size / hosts


def scripts(lab: Lab, figures: Figures, size: int, scratch: Path) -> None:
    """The baseline once per size; Andon's record is put back as it was afterwards."""
    live, previous = lab.live[size], lab.previous[size]
    hosts = min(size, lab.script_hosts or size)
    rollback = _scaled(lambda: script_rollback(lab, hosts, size, previous), hosts, size)
    timed(lab, figures, "script rollback", size, rollback)
    tree = scratch / "tree"
    shutil.rmtree(tree, ignore_errors=True)
    lab.repo.git("worktree", "add", "-f", "--detach", str(tree), live)
    (tree / "app.py").write_text("print('the script')\n")  # one file changed, as Andon's
    revision = "c" * 40
    work = lambda: script_redeploy(lab, hosts, size, tree, revision=revision, base=live)  # noqa: E731
    timed(lab, figures, "script redeploy", size, _scaled(work, hosts, size))
    lab.repo.git("worktree", "remove", "--force", str(tree))
    for path in lab.paths(size):  # as the engine left them: its record says ``live``
        shutil.rmtree(f"{path}/releases/{revision}", ignore_errors=True)
        temporary = f"{path}/.current.bench"
        os.symlink(f"releases/{live}", temporary)
        os.replace(temporary, f"{path}/current")


# --- the report ----------------------------------------------------------------------------


def summary(figures: Figures, sizes: tuple[int, ...]) -> dict[str, Any]:
    rows = []
    for (way, size), seconds in sorted(figures.seconds.items(), key=lambda k: (k[0][1], k[0][0])):
        rows.append(
            {
                "way": way,
                "hosts": size,
                "runs": len(seconds),
                "median_ms": median(seconds) * 1000,
                "per_host_ms": median(seconds) * 1000 / size,
                **vars(figures.peaks[way, size]),
            }
        )
    return {"rows": rows, "growth": growth(figures, sizes)}


def growth(figures: Figures, sizes: tuple[int, ...]) -> dict[str, list[float]]:
    """Milliseconds each extra host adds, between one size and the next."""
    out: dict[str, list[float]] = {}
    for way in (*WAYS, *SCRIPTS):
        found = [s for s in sizes if figures.seconds.get((way, s))]
        out[way] = [
            (median(figures.seconds[way, b]) - median(figures.seconds[way, a])) * 1000 / (b - a)
            for a, b in itertools.pairwise(found)
        ]
    return out


def markdown(result: dict[str, Any], box: dict[str, str]) -> str:
    out = [*machine_table(box), "", "**Rollback and delta redeploy by fleet size**", ""]
    out += [
        "| hosts | way | runs | median | per host | threads | fds | RSS | pool / sshd conns |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        out.append(
            f"| {row['hosts']} | {row['way']} | {row['runs']} | {row['median_ms']:.0f} ms | "
            f"{row['per_host_ms']:.1f} ms | {row['threads']} | {row['fds']} | "
            f"{row['rss_mb']:.0f} MB | {row['pool']} / {row['sshd']} |"
        )
    sizes = result["sizes"]
    out += ["", "**Growth**: ms each extra host adds, between " + ", ".join(map(str, sizes)), ""]
    for way, steps in result["growth"].items():
        if steps:
            out.append(f"- {way}: " + " → ".join(f"{s:.1f}" for s in steps))
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,20,100,250")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-script", action="store_true", help="skip the shell-script baseline")
    parser.add_argument("--max-connections", type=int, help="the pool's cap (default: Andon's)")
    parser.add_argument(
        "--script-hosts",
        type=int,
        help="run the sequential scripts on at most this many hosts and scale (default: all)",
    )
    args = parser.parse_args()
    sizes = tuple(sorted(int(s) for s in args.sizes.split(",")))
    load_before = load_average()
    with scratch_dir() as scratch:
        say(f"starting {max(sizes)} hosts")
        fleet = Fleet(max(sizes), scratch / "fleet")
        try:
            figures = measure(
                fleet,
                scratch,
                sizes,
                reps=args.reps,
                script=not args.no_script,
                cap=args.max_connections,
                script_hosts=args.script_hosts,
            )
        finally:
            fleet.stop()
    result = {**summary(figures, sizes), "sizes": list(sizes)}
    box = {**host(), "commit": commit() or "unknown", "filesystem": filesystem(str(scratch))}
    box["max_connections"] = str(args.max_connections or f"Andon's default ({MAX_CONNECTIONS})")
    box["script baselines"] = (
        f"on the first {args.script_hosts} hosts of a larger fleet, scaled to its size"
        if args.script_hosts
        else "on every host"
    )
    name_uncommitted(box)
    box["load average (1 min) before / after"] = f"{load_before} / {load_average()}"
    print(json.dumps(result, indent=2) if args.json else markdown(result, box))
    return 0


def measure(
    fleet: Fleet,
    scratch: Path,
    sizes: tuple[int, ...],
    *,
    reps: int,
    script: bool,
    cap: int | None,
    script_hosts: int | None = None,
) -> Figures:
    lab = open_lab(fleet, scratch, sizes, cap)
    lab.script_hosts = script_hosts
    gc.freeze()  # as ``andon serve`` does once started (bot/server/run.py)
    figures = Figures()
    try:
        for size in sizes:
            for r in range(reps):
                say(f"{lab.env(size)}: round {r + 1}/{reps}")
                round_of(lab, figures, size)
            if script:
                scripts(lab, figures, size, scratch)
    finally:
        if lab.andon.deployer is not None:
            lab.andon.deployer.close()
        lab.andon.database.dispose()
    return figures


@contextmanager
def scratch_dir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="andon-fleet-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
