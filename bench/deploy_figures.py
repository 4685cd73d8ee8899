"""What ``deploy.py`` measures — the rollbacks, the redeploy's uploads, the flips under a reader —
its targets, and the raw figures it prints with ``--json``.
"""

import argparse
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import median
from typing import Any

TARGET_COLD_S = 0.5
TARGET_WARM_S = 0.050
TARGET_BYTES_RATIO = 2.0
# Issue 22's, as ratios to a baseline measured in the same run
TARGET_WARM_RATIO = 1.6  # warm rollback through the engine ÷ the flip alone, pooled
TARGET_COLD_RATIO = 1.0  # cold rollback through the engine ÷ connect-and-flip
TARGET_RSYNC_RATIO = 0.4  # delta redeploy ÷ rsync --link-dest
TARGET_BYTES_RATIO_22 = 1.2  # delta's bytes sent ÷ the changed bytes


# name, label in the report; the ways of flipping a set of hosts to the other release
WAYS = (
    ("script", "script: new connection + shell command, host after host (baseline)"),
    ("script_parallel", "script, one thread per host"),
    ("port_cold", "Andon (a): `releases.activate`, new transport (connecting)"),
    ("port_warm", "Andon (a): `releases.activate`, pooled connections"),
    ("engine_cold", "Andon (b): `/rollback` through the engine, transports closed before"),
    ("engine_warm", "Andon (b): `/rollback` through the engine, the next one (warm)"),
)


def ms(seconds: list[float], how: Callable[[list[float]], float] = median) -> float:
    return how(seconds) * 1000 if seconds else float("nan")


@dataclass
class Rollbacks:
    seconds: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    request_s: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    breakdown: dict[str, Any] = field(default_factory=dict)
    what_if: dict[str, list[float]] = field(default_factory=dict)


# Not Andon's behaviour: the engine with one of its methods made a no-op, to measure what that
# part costs in a warm rollback (the hosts flip all the same). Name, label in the report; what
# each switches off is deploy.py's PATCHES.
WHAT_IFS = (
    ("as_is", "as Andon runs it (the same warm rollback, for reference)"),
    (
        "no_announce",
        "`Progress.show` a no-op: the host steps recorded, the progress message never updated",
    ),
    (
        "no_marks",
        "`Progress.write` and `Progress.note` no-ops: no per-host record before the end, no"
        " update (the message still at begin and end)",
    ),
)


@dataclass
class Upload:
    seconds: list[float] = field(default_factory=list)
    payload_sent: list[int] = field(default_factory=list)  # Staged.bytes_sent / rsync's stats
    wire_sent: list[int | None] = field(default_factory=list)  # SSH bytes, client to host
    wire_received: list[int | None] = field(default_factory=list)
    files_sent: list[int] = field(default_factory=list)
    linked: list[int] = field(default_factory=list)  # files sharing an inode with the last release
    client_cpu_s: list[float] = field(default_factory=list)  # Andon's process, or rsync + ssh
    host_cpu_s: list[float] = field(default_factory=list)  # the host's sshd tree

    def summary(self) -> dict[str, Any]:
        return {
            "median_s": median(self.seconds),
            "max_s": max(self.seconds),
            "payload_sent": median(self.payload_sent),
            "wire_sent": _median_or_none(self.wire_sent),
            "wire_received": _median_or_none(self.wire_received),
            "files_sent": median(self.files_sent),
            "linked": median(self.linked),
            "client_cpu_s": median(self.client_cpu_s) if self.client_cpu_s else None,
            "host_cpu_s": median(self.host_cpu_s) if self.host_cpu_s else None,
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
    edits_bytes: int  # the manifest's edits against the previous release's
    sums_bytes: int
    archive_bytes: int  # the delta's tar, as sent (the manifest travels as edits)
    archive_gz_bytes: int  # the same, gzip'd (level 6): what compressing the stream would send
    uploads: dict[str, Upload]
    ssh_true_s: list[float]
    connect_s: list[float]
    exec_s: list[float]  # ``Connection.run("true")`` on the open connection
    delta_breakdown: dict[str, Any]


@dataclass
class Flips:
    way: str
    flips: int
    seconds: float
    reads: int
    failures: int
    first_failure: str


def raw(
    box: dict[str, str],
    args: argparse.Namespace,
    rolls: Rollbacks,
    redeploy: Redeploy | None,
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
        "redeploy": None
        if redeploy is None
        else {
            **{k: v for k, v in vars(redeploy).items() if k != "uploads"},
            "uploads": {name: vars(u) for name, u in redeploy.uploads.items()},
        },
        "atomicity": [vars(f) for f in flips],
    }
