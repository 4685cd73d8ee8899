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
        [--part all|rollback|engine] [--line-left-stopped]

``--part rollback`` runs the rollbacks alone (1.); ``--part engine`` only issue 22's comparison
in it: the port's flips and the engine's rollbacks, without the script's ways. Before each
rollback through the engine the line is started again (untimed), so each meets a running line
and opens a stoppage, as the first rollback of an incident does; ``--line-left-stopped`` keeps
the line stopped, as the script did before issue 22, each rollback adding its cause to one
stoppage that grows over the run.
"""

import argparse
import json
import shlex
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import paramiko
from common import balanced, load_average, progress
from deploy_atomicity import bench_atomicity
from deploy_clocks import ANNOUNCE, ClockedTransport, Clocks, clocked_units, since
from deploy_figures import WHAT_IFS, Rollbacks, raw
from deploy_hosts import live_on, point_locally
from deploy_lab import ACTOR, Lab, finish, open_lab, running_line
from deploy_machine import Neighbours, machine
from deploy_redeploy import bench_redeploy
from deploy_report import markdown, markdown_rollbacks

from bot.hosts.ssh import SshTransport
from bot.intents.typed import Rollback as RollbackIntent
from core.config.hosts import Host
from core.deploy import records, releases
from core.deploy.progress import Progress
from core.deploy.transport import Transport
from tests.ssh_hosts import SSHD, SshFleet

SCRIPT_FLIP = "ln -sfn releases/{sha} current.tmp && mv -T current.tmp current"

say = progress("deploy")

# Run together, in this order, within a round; the groups' order within a round is a balanced
# Latin square's (``common.balanced``): each group follows each other one as often. A rotation
# kept one cyclic order, so the engine's rollbacks always came right after the port's flips.
GROUPS = (
    ("script",),
    ("script_parallel",),
    ("port_cold", "port_warm"),
    ("engine_cold", "engine_warm"),
)
# ``--part engine``: issue 22's comparison alone, the engine against the port's flip
ENGINE_GROUPS = GROUPS[2:]


# --- 1. rollback --------------------------------------------------------------------------------


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
    (``confirm``: the rounds go back and forth, so each target was rolled back from before).
    The line is started again first, untimed, unless ``--line-left-stopped``."""
    deployer = lab.andon.deployer
    assert deployer is not None
    if not lab.line_left_stopped:
        running_line(lab)
    intent = RollbackIntent(environment=lab.env(size), revision=revision, confirmed=True)
    started = time.perf_counter()
    result = lab.andon.execute(intent, ACTOR)
    answered = time.perf_counter()
    deployer.wait()
    done = time.perf_counter()
    finish(lab, result, revision, size)
    return {"total_s": done - started, "request_s": answered - started}


def bench_rollbacks(
    lab: Lab, sizes: tuple[int, ...], reps: int, groups: tuple[tuple[str, ...], ...] = GROUPS
) -> Rollbacks:
    out = Rollbacks()
    deployer = lab.andon.deployer
    assert deployer is not None
    fleet = lab.fleet
    for r in range(reps):
        say(f"rollback: round {r + 1}/{reps}")
        for size in sizes:
            hosts = lab.hosts[size]
            paths = [str(h.path) for h in hosts]
            for group in balanced(groups, r + size):
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
            clocks.add(ANNOUNCE, since(started))

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


# What each what-if (WHAT_IFS) makes a no-op: Progress's methods, by name.
PATCHES: dict[str, dict[str, Callable[..., None]]] = {
    "as_is": {},
    "no_announce": {"show": lambda progress, *args, **kwargs: None},
    "no_marks": {
        "write": lambda progress, *args, **kwargs: None,
        "note": lambda progress, *args, **kwargs: None,
    },
}


def what_ifs(lab: Lab, size: int, rounds: int) -> dict[str, list[float]]:
    found: dict[str, list[float]] = defaultdict(list)
    paths = [str(h.path) for h in lab.hosts[size]]
    for r in range(rounds):
        for name, _ in balanced(WHAT_IFS, r):
            patches = PATCHES[name]
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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", action="store_true", help="print raw figures as JSON")
    parser.add_argument("--quick", action="store_true", help="2 rounds, 1 redeploy, 1,000 files")
    parser.add_argument("--hosts", type=int, default=20, help="the largest rollback")
    parser.add_argument("--reps", type=int, default=5, help="rounds of rollbacks")
    parser.add_argument("--redeploys", type=int, default=3, help="runs of each upload")
    parser.add_argument("--files", type=int, default=5000, help="files in the redeployed tree")
    parser.add_argument("--flips", type=int, default=100, help="flips under the reader")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument(
        "--part",
        choices=("all", "rollback", "engine"),
        default="all",
        help="rollback: the rollbacks alone; engine: issue 22's rollbacks alone (the port's "
        "flips and the engine's rollbacks, no script)",
    )
    parser.add_argument(
        "--line-left-stopped",
        action="store_true",
        help="do not start the line again before each rollback (as before issue 22's fix)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.reps, args.redeploys, args.files = 2, 1, 1000
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
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
            lab.line_left_stopped = args.line_left_stopped
            groups = ENGINE_GROUPS if args.part == "engine" else GROUPS
            try:
                rolls = bench_rollbacks(lab, sizes, args.reps, groups)
            finally:
                if lab.andon.deployer is not None:
                    lab.andon.deployer.close()
                lab.andon.database.dispose()
            if args.part != "all":
                box = machine(load_before, str(fleet.root), neighbours)
                if args.json:
                    print(json.dumps(raw(box, args, rolls, None, []), indent=2, default=str))
                else:
                    print(markdown_rollbacks(box, args, sizes, rolls, groups))
                return 0
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
