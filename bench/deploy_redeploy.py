"""The redeploy of ``deploy.py``: a large tree with 1 % of its files changed, staged to one host
by Andon (a full upload, then the delta) and by ``rsync --link-dest`` over OpenSSH (the
baseline); the bundle's cut and what connecting costs, timed apart.
"""

import argparse
import gzip
import os
import random
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import progress, rotated
from deploy_clocks import ClockedConnection, Clocks
from deploy_cpu import children_cpu, own_cpu, sessions_of, settled_tree_cpu, tree_cpu
from deploy_figures import Redeploy, Upload
from deploy_hosts import git_commit, workspace

from bot.hosts.ssh import SshTransport
from bot.releases.bundle import TreeBundle, cut, scan
from bot.releases.git import GitSource
from core.config.hosts import Host
from core.deploy import manifest, manifest_delta, releases
from core.deploy.transport import Connection
from tests.git_server import GitWorkspace
from tests.ssh_hosts import SshFleet

say = progress("deploy")


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


def stage_once(
    connection: Connection, path: str, bundle: TreeBundle, upload: Upload, *, sshd: int
) -> None:
    """One ``releases.stage``, timed, with a bundle that has written no archive yet (the
    archive is part of what a deploy costs)."""
    fresh = TreeBundle(revision=bundle.revision, root=bundle.root, manifest=bundle.manifest)
    release = Path(releases.release_dir(path, bundle.revision))
    shutil.rmtree(release, ignore_errors=True)
    shutil.rmtree(f"{release}.partial", ignore_errors=True)
    before = _packets(connection)
    sessions, host_cpu, cpu = sessions_of(sshd), tree_cpu(sshd), own_cpu()
    started = time.perf_counter()
    staged = releases.stage(connection, path, fresh)
    took = time.perf_counter() - started
    upload.client_cpu_s.append(own_cpu() - cpu)
    upload.host_cpu_s.append(settled_tree_cpu(sshd, sessions=sessions) - host_cpu)
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
    assert host.process is not None
    sshd = host.process.pid
    sessions, host_cpu, cpu = sessions_of(sshd), tree_cpu(sshd), children_cpu()
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    took = time.perf_counter() - started
    client_cpu_s = children_cpu() - cpu
    host_cpu_s = settled_tree_cpu(sshd, sessions=sessions) - host_cpu
    if done.returncode != 0:
        raise RuntimeError(f"rsync exited {done.returncode}:\n{done.stderr[-2000:]}")
    if upload is None:
        return
    wire = _TRANSFERRED.search(done.stderr)
    upload.seconds.append(took)
    upload.client_cpu_s.append(client_cpu_s)
    upload.host_cpu_s.append(host_cpu_s)
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
    assert fleet.hosts[0].process is not None
    sshd = fleet.hosts[0].process.pid
    say("redeploy: Andon's delta — the previous release staged and live first")
    releases.stage(connection, delta, cuts.old)
    releases.activate(connection, delta, cuts.old.revision)
    for r in range(redeploys):
        say(f"redeploy: round {r + 1}/{redeploys}: full upload, delta, rsync")
        for name in rotated(("full", "delta", "rsync"), r):
            if name == "full":
                shutil.rmtree(full, ignore_errors=True)  # no current, no release
                stage_once(connection, full, cuts.bundle, uploads["full"], sshd=sshd)
            elif name == "delta":
                stage_once(connection, delta, cuts.bundle, uploads["delta"], sshd=sshd)
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
    exec_s = command_times(connection, delta)
    return Uploads(uploads, exec_s, clocked_delta(connection, delta, cuts.bundle, sshd=sshd))


def command_times(connection: Connection, cwd: str) -> list[float]:
    """``Connection.run("true")`` on the open connection, 10 times: what a command costs."""
    exec_s = []
    for _ in range(10):
        started = time.perf_counter()
        connection.run("true", cwd=cwd, timeout=30)
        exec_s.append(time.perf_counter() - started)
    return exec_s


def clocked_delta(
    connection: Connection, path: str, bundle: TreeBundle, *, sshd: int
) -> dict[str, Any]:
    """One more delta, each call to the host clocked: where its time goes."""
    say("redeploy: one more delta, each call to the host clocked")
    clocks, clocked = Clocks(), Upload()
    stage_once(ClockedConnection(connection, clocks), path, bundle, clocked, sshd=sshd)
    return {
        "total_s": clocked.seconds[0],
        "spans": {name: [len(t), sum(t)] for name, t in clocks.spans.items()},
    }


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
    changed = manifest.changes(cuts.old.manifest, bundle.manifest)[0]
    archive, _ = bundle.archive(changed, with_manifest=False)
    listed = bundle.listing().encode()
    edits = manifest_delta.edits(cuts.old.listing(), bundle.listing()) or ""
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
        edits_bytes=len(edits.encode()),
        sums_bytes=len(
            (manifest.sums(bundle.manifest) + manifest.sum_line(bundle.listing())).encode()
        ),
        archive_bytes=archive.stat().st_size,
        archive_gz_bytes=len(gzip.compress(archive.read_bytes())),
        uploads=done.uploads,
        ssh_true_s=ssh_true_s,
        connect_s=connect_s,
        exec_s=done.exec_s,
        delta_breakdown=done.delta_breakdown,
    )
