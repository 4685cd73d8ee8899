"""Where a stored green CI result spends ``andon serve``'s CPU, beside ``GET /healthz``'s.

The same FastAPI app ``andon serve`` builds (``bench/slash_profile.py``'s ``built``), called as
ASGI in this process, one request after the other, with the requests ``bench/ci_ingest.py``
sends: distinct signed generic results, passed or running on feature branches (stored and
audited, nothing announced). CPU per request of the whole process, then under ``cProfile``.

    .venv/bin/python bench/ci_profile.py [--database sqlite|postgresql] [--requests 2000]
"""

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
from pathlib import Path

from common import postgres_cluster, progress
from profiled import Profiled, top
from slash_profile import Ask, Request, built, healthz_ask, made, run

from tests.ci_payloads import signature
from tests.fakes.slack import FakeSlack

say = progress("ci_profile")


def result_ask(n: int) -> Request:
    """A distinct green result on a feature branch, signed."""
    payload = {
        "revision": secrets.token_hex(20),
        "branch": f"feature/bench-{n % 16:02d}",
        "status": ("passed", "running")[n % 2],
        "pipeline": ("tests", "lint", "build")[n % 3],
        "run_id": f"p-{secrets.token_hex(4)}-{n}",
        "url": f"https://ci.example.com/p/{n}",
        "duration_s": 60 + n % 240,
        "author_name": "Load Bench",
        "author_email": "bench@example.com",
        "subject": f"Bench commit {n}",
    }
    body = json.dumps(payload).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"x-andon-signature", signature(body).encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    return "POST", "/hooks/ci/generic", headers, body


async def measure(
    asks: dict[str, tuple[Ask, bytes]], app: object, args: argparse.Namespace
) -> None:
    for ask, want in asks.values():
        await run(app, made(ask, args.warmup), want)
    for r in range(args.rounds):
        cpu = {
            name: await run(app, made(ask, args.requests), want)
            for name, (ask, want) in asks.items()
        }
        line = ", ".join(f"{name} {ms:.3f} ms" for name, ms in cpu.items())
        ratio = cpu["result"] / cpu["healthz"]
        say(f"round {r + 1}: CPU per request: {line}; result/healthz {ratio:.2f}×")
    for name, (ask, want) in asks.items() if args.profiled else ():
        requests = made(ask, args.profiled)
        with Profiled() as profile:
            await run(app, requests, want)
        print(f"\n## {name}: {args.profiled} requests under cProfile\n")
        print(top(profile.stats(), args.top))
        if args.dump:
            profile.stats().dump_stats(f"{args.dump}.{name}")


def bench(url: str, args: argparse.Namespace) -> None:
    with FakeSlack() as slack, tempfile.TemporaryDirectory(prefix="andon-prof-") as scratch:
        andon, app = built(Path(scratch), url or f"sqlite:///{scratch}/andon.db", slack)
        asks = {"healthz": (healthz_ask, b'"ok"'), "result": (result_ask, b'"recorded"')}
        try:
            asyncio.run(measure(asks, app, args))
        finally:
            assert andon.homes is not None
            andon.homes.stop()
            andon.courier.stop()
            andon.database.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--requests", type=int, default=2000, help="per kind, per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--profiled", type=int, default=0, help="requests under cProfile")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--dump", default="", help="write each pstats file to DUMP.<name>")
    args = parser.parse_args(argv)
    if args.database == "sqlite":
        bench("", args)
        return 0
    with postgres_cluster(say) as (cluster, why):
        if cluster is None:
            say(f"no PostgreSQL: {why}")
            return 1
        bench(cluster.create_database("andon_profile"), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
