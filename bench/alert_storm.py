"""The alert storm ``alerts.py`` sends: fingerprints in alert groups, each POST one group as
Alertmanager sends it, on a schedule; and the warm-up's bodies.
"""

import argparse
import copy
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from storm_runs import FIXTURE

ALERTNAMES = (
    "InstanceDown",
    "HighRequestLatency",
    "HTTP5xxRateHigh",
    "NodeMemoryPressure",
    "DiskIOSaturated",
    "PostgresReplicationLag",
    "QueueBacklogGrowing",
    "KubePodCrashLooping",
    "ErrorBudgetBurn",
    "UpstreamTimeouts",
)


@dataclass(frozen=True)
class Fingerprint:
    index: int
    group: int
    alertname: str
    instance: str
    fingerprint: str
    summary: str
    starts_s: float  # when, after the storm's start, it begins to be sent


@dataclass(frozen=True)
class Post:
    at_s: float  # scheduled, after the phase's start
    group: int
    fingerprints: tuple[int, ...]
    body: bytes


def fingerprints(count: int, groups: int, onset_s: float) -> list[Fingerprint]:
    found = []
    for k in range(count):
        group = k % groups
        alertname = ALERTNAMES[group % len(ALERTNAMES)] + (f"{group}" if group >= 10 else "")
        instance = f"node-{k:03d}:9100"
        labels = f"alertname={alertname},instance={instance}"
        found.append(
            Fingerprint(
                index=k,
                group=group,
                alertname=alertname,
                instance=instance,
                fingerprint=hashlib.sha256(labels.encode()).hexdigest()[:16],
                summary=f"{alertname} firing on {instance}",
                starts_s=onset_s * k / count,
            )
        )
    return found


def group_body(fixture: dict[str, Any], group: list[Fingerprint], status: str = "firing") -> bytes:
    """One Alertmanager delivery of ``group``, built on the fixture's shape."""
    alerts = []
    for fp in group:
        alert = copy.deepcopy(fixture["alerts"][0])
        alert["labels"] = {
            "job": "node",
            "group": "production",
            "instance": fp.instance,
            "severity": "critical",
            "alertname": fp.alertname,
        }
        alert["annotations"] = {
            "title": fp.summary,
            "description": f"{fp.instance} of job node: {fp.alertname} for more than 1 minute.",
        }
        alert["fingerprint"], alert["status"] = fp.fingerprint, status
        alert["generatorURL"] = f"http://prometheus:9090/graph?g0.expr={fp.alertname}"
        alerts.append(alert)
    alertname = group[0].alertname
    body = {
        **fixture,
        "alerts": alerts,
        "status": status,
        "receiver": "andon",
        "groupKey": f'{{}}:{{alertname="{alertname}"}}',
        "groupLabels": {"alertname": alertname},
        "commonLabels": {"job": "node", "severity": "critical", "alertname": alertname},
        "numFiring": len(alerts) if status == "firing" else 0,
        "numResolved": 0 if status == "firing" else len(alerts),
        "externalURL": "http://alertmanager:9093",
    }
    return json.dumps(body).encode()


def storm_plan(args: argparse.Namespace) -> tuple[list[Fingerprint], list[Post]]:
    """POSTs of one group each, the groups in turn, paced to a steady rate of alerts."""
    fixture = json.loads(FIXTURE.read_text())
    fps = fingerprints(args.fingerprints, args.groups, args.onset)
    posts: list[Post] = []
    sent, turn = 0, 0
    while sent < args.alerts:
        at = args.seconds * sent / args.alerts
        firing: list[Fingerprint] = []
        for step in range(args.groups):  # the next group with an alert firing by now
            group = (turn + step) % args.groups
            firing = [f for f in fps if f.group == group and f.starts_s <= at]
            if firing:
                break
        turn = group + 1
        firing = firing[: args.alerts - sent]
        body = group_body(fixture, firing)
        posts.append(Post(at, group, tuple(f.index for f in firing), body))
        sent += len(firing)
    missing = {f.index for f in fps} - {k for p in posts for k in p.fingerprints}
    if missing:
        raise SystemExit(f"the plan never sends fingerprints {sorted(missing)}: lower --onset")
    return fps, posts


def warmup_bodies(count: int) -> list[bytes]:
    """Resolutions of alerts that never fired: authenticated, read, audited, nothing paged."""
    fixture = json.loads(FIXTURE.read_text())
    fps = [
        Fingerprint(k, 0, "BenchWarmUp", f"warm-{k:03d}:9100", f"warm{k:012d}", "warm-up", 0.0)
        for k in range(count)
    ]
    return [group_body(fixture, [fp], status="resolved") for fp in fps]


@dataclass
class Storm:
    """What every phase of one database sends: the schedule, the bodies, alerts per body."""

    fps: list[Fingerprint]
    posts: list[Post]
    schedule: list[float] = field(init=False)
    bodies: list[bytes] = field(init=False)
    counts: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.schedule = [p.at_s for p in self.posts]
        self.bodies = [p.body for p in self.posts]
        self.counts = [len(p.fingerprints) for p in self.posts]
