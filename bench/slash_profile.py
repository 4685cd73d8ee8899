"""Where a ``/line status`` spends ``andon serve``'s CPU, beside ``GET /healthz``'s.

At saturation a slash command's p99 follows the server's CPU per request, and a p99 on a shared
machine is mostly other processes' time slices: CPU per request is what stays put. This script
builds the same FastAPI app ``andon serve`` builds (the bolt app, the fake Slack, a real
database, the system clock) in its own process and calls it as ASGI, without the HTTP parsing
uvicorn does alike for both requests, with the same signed requests ``bench/slash_ack.py`` sends:

- CPU per request of the whole process (``time.process_time``) for each, one after the other;
- then each again under ``cProfile``, the event loop and every thread-pool call profiled, and
  the top entries by own time and by cumulative time.

    .venv/bin/python bench/slash_profile.py [--database sqlite|postgresql] [--requests 2000]
"""

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import postgres_cluster, progress
from profiled import Profiled, profiled, top

from bot.andon import Andon
from bot.http import app as http_app
from bot.main import open_andon, slack_client
from bot.settings.environment import Settings
from bot.slack import app as slack_app
from bot.slack.homes import Homes
from bot.slack.web import SlackChat
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.harness import API_TOKEN, DEFAULT_CONFIG, WEBHOOK_SECRET
from tests.slack_requests import SIGNING_SECRET, signed_headers, slash_command

say = progress("slash_profile")

# An ASGI app, called as uvicorn calls it: (scope, receive, send).
App = Callable[..., object]
Request = tuple[str, str, list[tuple[bytes, bytes]], bytes]  # method, path, headers, body
Ask = Callable[[int], Request]


def built(workdir: Path, url: str, slack: FakeSlack) -> tuple[Andon, App]:
    """The app ``andon serve`` builds (``bot.server.run``), without the server around it."""
    (workdir / "andon.toml").write_text(DEFAULT_CONFIG)
    settings = Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.url,
        andon_database_url=url,
        andon_config=str(workdir / "andon.toml"),
        andon_webhook_secret=WEBHOOK_SECRET,
        andon_api_token=API_TOKEN,
    )
    client = slack_client(settings)
    andon = open_andon(settings, SlackChat(client), create=True)
    bolt = slack_app.build(andon, client=client, signing_secret=SIGNING_SECRET)
    andon.homes = Homes(andon, client=bolt.client)  # woken after each unit, as in serve
    andon.homes.refresh = profiled(andon.homes.refresh)  # type: ignore[method-assign]
    andon.homes.start()
    andon.courier.start()
    return andon, http_app.build(andon, slack=bolt, settings=settings)


def made(ask: Ask, count: int) -> list[Request]:
    """The requests made (and signed) before the clock starts: the client's work is not timed."""
    return [ask(n) for n in range(count)]


def status_ask(slack: FakeSlack) -> Ask:
    response_url = slack.response_url("bench")

    def ask(n: int) -> Request:
        body, kind = slash_command(
            "/line", "status", user=f"U0LOAD{n % 97:02d}", name="load", response_url=response_url
        )
        headers = {"Content-Type": kind, **signed_headers(body)}
        pairs = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        pairs.append((b"content-length", str(len(body)).encode()))
        return "POST", "/slack/events", pairs, body

    return ask


def healthz_ask(n: int) -> Request:
    return "GET", "/healthz", [], b""


async def call(app: App, method: str, path: str, headers: list, body: bytes) -> tuple[int, bytes]:
    """One request, as uvicorn hands it to the app: the status and the body of the answer."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    answer: dict[str, object] = {"status": 0, "body": b""}

    async def receive() -> dict[str, object]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] = bytes(answer["body"]) + bytes(message.get("body", b""))  # type: ignore[arg-type]

    await app(scope, receive, send)  # type: ignore[misc]
    return int(answer["status"]), bytes(answer["body"])  # type: ignore[call-overload]


async def run(app: App, requests: list[Request], want: bytes) -> float:
    """The requests one after the other: CPU ms per request of this whole process."""
    started = time.process_time()
    for request in requests:
        status, body = await call(app, *request)
        if status != 200 or want not in body:
            raise SystemExit(f"unexpected answer {status}: {body[:300]!r}")
    return (time.process_time() - started) * 1000 / len(requests)


Asks = Callable[[FakeSlack], dict[str, tuple[Ask, bytes]]]  # "healthz" and the path measured


async def measure(
    app: App, asks: dict[str, tuple[Ask, bytes]], args: argparse.Namespace, say: Callable
) -> None:
    for ask, want in asks.values():
        await run(app, made(ask, args.warmup), want)
    subject = next(name for name in asks if name != "healthz")
    for r in range(args.rounds):
        cpu = {
            name: await run(app, made(ask, args.requests), want)
            for name, (ask, want) in asks.items()
        }
        line = ", ".join(f"{name} {ms:.3f} ms" for name, ms in cpu.items())
        ratio = cpu[subject] / cpu["healthz"]
        say(f"round {r + 1}: CPU per request: {line}; {subject}/healthz {ratio:.2f}×")
    for name, (ask, want) in asks.items() if args.profiled else ():
        requests = made(ask, args.profiled)
        with Profiled() as profile:
            await run(app, requests, want)
        print(f"\n## {name}: {args.profiled} requests under cProfile\n")
        print(top(profile.stats(), args.top))
        if args.dump:
            profile.stats().dump_stats(f"{args.dump}.{name}")


def bench(url: str, args: argparse.Namespace, asks: Asks, say: Callable) -> None:
    with FakeSlack() as slack, tempfile.TemporaryDirectory(prefix="andon-prof-") as scratch:
        andon, app = built(Path(scratch), url or f"sqlite:///{scratch}/andon.db", slack)
        try:
            asyncio.run(measure(app, asks(slack), args, say))
        finally:
            assert andon.homes is not None
            andon.homes.stop()
            andon.courier.stop()
            andon.database.dispose()


def profile_main(
    asks: Asks, *, doc: str, argv: list[str] | None, profiled: int, top: int, say: Callable
) -> int:
    """The command line of a script that measures one path beside ``/healthz``."""
    parser = argparse.ArgumentParser(description=doc.split("\n", 1)[0])
    parser.add_argument("--database", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--requests", type=int, default=2000, help="per kind, per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--profiled", type=int, default=profiled, help="requests under cProfile")
    parser.add_argument("--top", type=int, default=top)
    parser.add_argument("--dump", default="", help="write each pstats file to DUMP.<name>")
    args = parser.parse_args(argv)
    if args.database == "sqlite":
        bench("", args, asks, say)
        return 0
    with postgres_cluster(say) as (cluster, why):
        if cluster is None:
            say(f"no PostgreSQL: {why}")
            return 1
        bench(cluster.create_database("andon_profile"), args, asks, say)
    return 0


def main(argv: list[str] | None = None) -> int:
    def asks(slack: FakeSlack) -> dict[str, tuple[Ask, bytes]]:
        return {"healthz": (healthz_ask, b'"ok"'), "status": (status_ask(slack), b"The line ")}

    return profile_main(asks, doc=__doc__ or "", argv=argv, profiled=2000, top=30, say=say)


if __name__ == "__main__":
    sys.exit(main())
