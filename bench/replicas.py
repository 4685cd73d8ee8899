"""Replicas on one PostgreSQL: what a second and third ``andon serve`` change, and how long a
dead one's deploy waits to be settled.

1. **Throughput, one replica and three, the same load.** ``clients`` threads send signed
   ``/line status`` slash commands, then signed CI webhooks (a green build of a new revision
   each), round-robin over the replicas as a load balancer would; acks per second and latency.
2. **Failover.** A deploy to a local host waits in its health check; the replica running it is
   killed with SIGKILL. From the kill, how long until a surviving replica records the deploy
   ``interrupted`` and the deploy lock is free — ``rounds`` times, in two ways:

   - *same machine*: the dead process is reaped, so a survivor on the same machine sees its pid
     gone at the next tick;
   - *another machine*: the dead process is left a zombie, so its pid still answers and only
     the lease (30 s, renewed every 10 s) tells — as it does for a replica on another machine.

   Target: under the lease plus 5 s.

Only loopback traffic; a throwaway PostgreSQL cluster. Progress on stderr, Markdown on stdout.

    .venv/bin/python bench/replicas.py [--rounds 10] [--clients 20] [--each 20]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import requests
from clients import Request, Sample, answer_json, concurrent
from common import (
    TIMEOUT_S,
    Clock,
    cpu_ticks,
    load_average,
    machine,
    machine_table,
    postgres_cluster,
    postgres_version,
    postmaster_pid,
    progress,
)

from core.deploy.lease import TTL
from tests.ci_payloads import generic, signature
from tests.fakes.slack import FakeSlack
from tests.harness import AndonServer
from tests.postgres import PostgresCluster
from tests.replicas import Replicas
from tests.slack_requests import signed_headers, slash_command
from tests.waiting import eventually

say = progress("replicas")
TARGET_S = TTL.total_seconds() + 5


# --- the load -------------------------------------------------------------------------------


def _turn(servers: list[AndonServer], n: int) -> AndonServer:
    return servers[n % len(servers)]


def status_request(servers: list[AndonServer], response_url: str) -> Request:
    def send(session: requests.Session, n: int) -> tuple[float, int, bool]:
        body, kind = slash_command(
            "/line", "status", user=f"U0LOAD{n % 97:02d}", name="load", response_url=response_url
        )
        headers = {"Content-Type": kind, **signed_headers(body)}
        started = time.perf_counter()
        answer = session.post(
            _turn(servers, n).url + "/slack/events", data=body, headers=headers, timeout=TIMEOUT_S
        )
        took = time.perf_counter() - started
        ok = answer.status_code == 200 and str(answer_json(answer).get("text", "")).startswith(
            "The line "
        )
        return took, answer.status_code, ok

    return send


def webhook_request(servers: list[AndonServer], tag: str) -> Request:
    def send(session: requests.Session, n: int) -> tuple[float, int, bool]:
        revision = f"{tag}{n:08x}".ljust(40, "0")[:40]
        body = json.dumps(generic(revision, "passed", run_id=f"{tag}-{n}")).encode()
        headers = {"Content-Type": "application/json", "X-Andon-Signature": signature(body)}
        started = time.perf_counter()
        answer = session.post(
            _turn(servers, n).url + "/hooks/ci/generic", data=body, headers=headers, timeout=10
        )
        return time.perf_counter() - started, answer.status_code, answer.status_code == 200

    return send


def ticking(trio: Replicas, tick: str) -> Replicas:
    """The replicas at the tick being measured (Andon's default unless told)."""
    for server in trio.servers:
        server.env["ANDON_TICK_SECONDS"] = tick
    return trio


def cpu_of(servers: list[AndonServer], postmaster: int | None) -> Clock:
    """CPU seconds of every replica together, and of PostgreSQL's backends."""
    tick = os.sysconf("SC_CLK_TCK")

    def now() -> dict[str, float]:
        used = {"andon": sum(cpu_ticks(s.process.pid) for s in servers) / tick}
        if postmaster is not None:
            used["postgres"] = cpu_ticks(postmaster, children=True) / tick
        used["client"] = time.process_time()
        return used

    return now


def throughput(
    cluster: PostgresCluster, slack: FakeSlack, count: int, args: argparse.Namespace
) -> list[Sample]:
    """The same load on ``count`` replicas: slash acks, then CI webhooks."""
    url = cluster.create_database(f"andon_load_{count}")
    root = Path(tempfile.mkdtemp(prefix=f"andon-replicas-{count}-"))
    trio = ticking(Replicas(root, database_url=url, slack=slack, count=count), args.tick)
    say(f"{count} replica(s): starting")
    trio.start()
    try:
        servers, cpu = trio.servers, cpu_of(trio.servers, postmaster_pid(cluster))
        first = servers[0].url
        samples = []
        for name, send in (
            ("`/line status` ack", status_request(servers, slack.response_url("bench"))),
            ("CI webhook", webhook_request(servers, f"{count}a")),
        ):
            concurrent(str(count), "warm-up", send, args.clients, 3, first, cpu)
            say(f"{count} replica(s): {name}, {args.clients} clients × {args.each}")
            samples.append(concurrent(str(count), name, send, args.clients, args.each, first, cpu))
        samples.append(_connections(cluster, f"andon_load_{count}", count))
        return samples
    finally:
        trio.stop()


def _connections(cluster: PostgresCluster, database: str, count: int) -> Sample:
    """PostgreSQL's connections to the database after the load, as a sample's single figure."""
    with psycopg.connect(cluster.url("postgres")) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)
        ).fetchone()
    return Sample(str(count), "connections", 0, latencies_s=[float(row[0] if row else 0)])


# --- failover -------------------------------------------------------------------------------


def _lock_free(cluster: PostgresCluster, database: str) -> bool:
    with psycopg.connect(cluster.url(database)) as connection:
        row = connection.execute(
            "SELECT deploy_id FROM deploy_lock WHERE environment = 'production'"
        ).fetchone()
    return row is None or row[0] is None


def one_failover(
    trio: Replicas, cluster: PostgresCluster, *, round_: int, reap: bool
) -> tuple[float, float]:
    """One deploy killed in its health check: seconds from the kill to interrupted, to free."""
    trio.release(f"round {round_}", {"app.py": f"print({round_})\n"})
    trio.hold.arm()
    victim = trio.next()
    survivor = next(s for s in trio.servers if s is not victim)
    deploys = len(trio.deploys())
    assert "Deploying" in trio.slash("/deploy", "", to=victim)
    eventually(trio.hold.at.exists, timeout=60, what="the deploy waiting on its health check")
    victim.process.kill()
    killed = time.perf_counter()
    if reap:
        victim.process.wait()  # else a zombie: its pid answers until the lease tells

    def interrupted() -> bool:  # asked of a survivor: the round robin would reap the zombie
        found = survivor.api("/api/deploys").json()["deploys"]
        return len(found) > deploys and found[0]["status"] == "interrupted"

    eventually(interrupted, timeout=TARGET_S + 30, every=0.05, what="the deploy interrupted")
    settled = time.perf_counter() - killed
    database = trio.servers[0].env["ANDON_DATABASE_URL"].rsplit("/", 1)[1]
    eventually(lambda: _lock_free(cluster, database), timeout=30, every=0.05, what="lock free")
    freed = time.perf_counter() - killed
    victim.process.wait()
    trio.hold.let_go()
    victim.start()
    return settled, freed


def failover(
    cluster: PostgresCluster, slack: FakeSlack, args: argparse.Namespace
) -> dict[str, list[tuple[float, float]]]:
    url = cluster.create_database("andon_failover")
    root = Path(tempfile.mkdtemp(prefix="andon-failover-"))
    trio = ticking(Replicas(root, database_url=url, slack=slack), args.tick)
    say("failover: starting three replicas")
    trio.start()
    found: dict[str, list[tuple[float, float]]] = {"same machine": [], "another machine": []}
    try:
        trio.release("first", {"app.py": "print(0)\n"})
        assert "Deploying" in trio.slash("/deploy", "")
        eventually(lambda: trio.live() is not None, timeout=60, what="the first deploy")
        for how, reap in (("same machine", True), ("another machine", False)):
            for n in range(args.rounds):
                done = sum(len(rounds) for rounds in found.values())
                settled, freed = one_failover(trio, cluster, round_=done + 1, reap=reap)
                say(f"failover, {how}, {n + 1}: interrupted {settled:.2f} s, free {freed:.2f} s")
                found[how].append((settled, freed))
        return found
    finally:
        trio.stop()


# --- the report -----------------------------------------------------------------------------


def markdown(
    loads: list[Sample], fails: dict[str, list[tuple[float, float]]], box: dict[str, str]
) -> str:
    out = machine_table(box)
    out += ["", "**Load**: the same on one replica and on three, round-robin over them.", ""]
    out += ["| replicas | request | clients | requests | not ok | p50 ms | p99 | req/s |"]
    out += ["|--:|---|--:|--:|--:|--:|--:|--:|"]
    connections = {}
    for sample in loads:
        if sample.request == "connections":
            connections[sample.database] = int(sample.latencies_s[0])
            continue
        s = sample.summary()
        out.append(
            f"| {s['database']} | {s['request']} | {s['clients']} | {s['requests']} | "
            f"{s['not_ok']} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['requests_per_s']:.0f} |"
        )
    if connections:
        out += ["", "PostgreSQL connections to the database after the load: "]
        out[-1] += ", ".join(f"{n} replica(s): {c}" for n, c in connections.items())
    out += ["", f"**Failover** (target: under {TARGET_S:.0f} s — the lease plus 5 s; "]
    out[-1] += f"ANDON_TICK_SECONDS={box['ANDON_TICK_SECONDS']})"
    out += [""]
    out += ["| how the death is seen | rounds | to interrupted, median / max s | to lock free |"]
    out += ["|---|--:|--:|--:|"]
    for how, rounds in fails.items():
        if not rounds:
            continue
        to_int, to_free = [r[0] for r in rounds], [r[1] for r in rounds]
        out.append(
            f"| {how} | {len(rounds)} | {statistics.median(to_int):.2f} / {max(to_int):.2f} | "
            f"{statistics.median(to_free):.2f} / {max(to_free):.2f} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=10, help="kills of each kind")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument("--each", type=int, default=20, help="requests per client")
    parser.add_argument("--skip-load", action="store_true", help="failover only")
    parser.add_argument("--tick", default="5", help="ANDON_TICK_SECONDS of every replica")
    args = parser.parse_args(argv)
    load_before = load_average()
    with postgres_cluster(say) as (cluster, why), FakeSlack() as slack:
        if cluster is None:
            say(f"skipped: {why}")
            return 1
        version = postgres_version(cluster)
        loads: list[Sample] = []
        if not args.skip_load:
            for count in (1, 3):
                loads += throughput(cluster, slack, count, args)
        fails = failover(cluster, slack, args)
    print(
        markdown(loads, fails, {**machine(version, load_before), "ANDON_TICK_SECONDS": args.tick})
    )
    slow = [r for rounds in fails.values() for r in rounds if r[1] >= TARGET_S]
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
