"""What strangers' bodies cost ``andon serve``: peak memory under huge bodies, and the event loop
under bodies that are costly to parse — today's code against a baseline revision, side by side.

**Memory.** For every door that reads a body (``/hooks/ci/generic``, ``/hooks/alerts/generic``,
``/slack/events``, ``/api/gate``) and both ways of sending one (``Content-Length``; chunked),
a fresh ``andon serve`` (SQLite, the fake Slack) is warmed up, its peak RSS is reset
(``/proc/<pid>/clear_refs``) and its idle RSS read (``VmRSS``); then four clients at once each
send a 200 MB body, as fast as loopback takes it, until the server answers or closes; then the
peak (``VmHWM``) is read. The bodies carry a credential the door must check against the body
(a wrong ``X-Andon-Signature``; Slack headers with a fresh timestamp and a wrong signature; the
right API token for the gate): the worst a stranger can do, and for the gate what a holder of
the token can. Target: peak within 50 MB of idle.

**The loop.** Two correctly signed generic CI bodies of 4.8 MB whose JUnit XML nests 680,000
elements deep are posted at once while a client asks ``GET /healthz`` every 20 ms; the
``/healthz`` latencies while they are processed show how long the loop was held.

The **baseline** is the code at ``--baseline`` (default 26095a2, before the edge was bounded),
written out with ``git archive`` into a temporary directory and served from there with
``PYTHONPATH``; each scenario runs on the baseline, then on this checkout, in the same run.
Loopback only, bounded (about 3 GB sent in all); progress goes to stderr, the Markdown for
``bench/README.md`` (or ``--json``) to stdout.

    .venv/bin/python bench/bodies.py [--json] [--baseline 26095a2] [--megabytes 200]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import median

import requests
from common import ROOT, load_average, machine, machine_table, progress

from tests.ci_payloads import generic, signature
from tests.fakes.slack import FakeSlack
from tests.harness import API_TOKEN, AndonServer
from tests.raw_http import connect, head, read_answer, send_until_answered

MB = 1024 * 1024
CLIENTS = 4
TARGET_MB = 50
WRONG = "sha256=" + "0" * 64
DOORS = ("/hooks/ci/generic", "/hooks/alerts/generic", "/slack/events", "/api/gate")

say = progress("bodies")


@dataclass
class Memory:
    variant: str
    door: str
    sent_as: str
    idle_mb: float
    peak_mb: float
    answers: list[str] = field(default_factory=list)  # "413 after 5 MB in 0.1 s"

    @property
    def growth_mb(self) -> float:
        return self.peak_mb - self.idle_mb


@dataclass
class Loop:
    variant: str
    answers: list[str]
    healthz_ms: list[float]


def credentials(door: str) -> dict[str, str]:
    if door == "/slack/events":
        return {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=0"}
    if door == "/api/gate":
        return {"Authorization": f"Bearer {API_TOKEN}"}
    return {"X-Andon-Signature": WRONG}


def status_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def stranger(url: str, door: str, *, size: int, chunked: bool, said: list[str]) -> None:
    """One client sending ``size`` bytes of body as fast as the server takes them."""
    started = time.perf_counter()
    sock = connect(url)
    with sock:
        framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(size)}
        sock.sendall(head("POST", door, {**credentials(door), **framing}))
        piece = b" " * MB
        framed = b"%x\r\n" % MB + piece + b"\r\n" if chunked else piece
        pieces = [framed] * (size // MB) + ([b"0\r\n\r\n"] if chunked else [])
        try:
            answer = send_until_answered(sock, pieces, timeout=300)
            shown = f"{answer.status} after {answer.sent / MB:,.0f} MB"
        except (ConnectionError, OSError) as gone:
            shown = f"closed ({type(gone).__name__})"
    said.append(f"{shown} in {time.perf_counter() - started:.1f} s")


def serve(root: Path, slack: FakeSlack, variant: str, baseline: Path) -> AndonServer:
    workdir = Path(tempfile.mkdtemp(prefix=f"{variant}-", dir=root))
    server = AndonServer(workdir, database_url=f"sqlite:///{workdir / 'a.db'}", slack=slack)
    if variant == "baseline":
        server.env["PYTHONPATH"] = str(baseline)
    return server.start()


def warm(server: AndonServer) -> None:
    """Every door once, so that what is imported or cached on first use is in the idle RSS."""
    for door in DOORS:
        sock = connect(server.url)
        with sock:
            sock.sendall(head("POST", door, {**credentials(door), "Content-Length": "2"}) + b"{}")
            read_answer(sock, timeout=30)


def memory(root: Path, slack: FakeSlack, baseline: Path, size: int) -> list[Memory]:
    found = []
    for door in DOORS:
        for sent_as in ("Content-Length", "chunked"):
            for variant in ("baseline", "now"):
                server = serve(root, slack, variant, baseline)
                try:
                    warm(server)
                    pid = server.process.pid
                    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
                    idle = status_mb(pid, "VmRSS")
                    said: list[str] = []
                    clients = [
                        threading.Thread(
                            target=stranger,
                            args=(server.url, door),
                            kwargs={"size": size, "chunked": sent_as == "chunked", "said": said},
                        )
                        for _ in range(CLIENTS)
                    ]
                    for client in clients:
                        client.start()
                    for client in clients:
                        client.join()
                    peak = status_mb(pid, "VmHWM")
                finally:
                    server.stop(graceful=variant != "baseline")
                row = Memory(variant, door, sent_as, idle, peak, sorted(said))
                say(f"{variant} {door} {sent_as}: idle {idle:.0f} MB, peak {peak:.0f} MB, {said}")
                found.append(row)
    return found


def deep_junit() -> bytes:
    depth = 680_000
    xml = "<testsuite>" + "<a>" * depth + "</a>" * depth + "</testsuite>"
    return json.dumps(generic("c" * 40, "failed", junit_xml=xml)).encode()


def signed_post(url: str, body: bytes, said: list[str]) -> None:
    started = time.perf_counter()
    sock = connect(url)
    with sock:
        headers = {"X-Andon-Signature": signature(body), "Content-Length": str(len(body))}
        sock.sendall(head("POST", "/hooks/ci/generic", headers) + body)
        answer = read_answer(sock, timeout=120)
    said.append(f"{answer.status} in {time.perf_counter() - started:.2f} s")


def healthz(url: str, done: threading.Event, latencies: list[float]) -> None:
    """``GET /healthz`` every 20 ms until ``done``: how long each waited is the loop's delay."""
    with requests.Session() as session:
        while not done.is_set():
            started = time.perf_counter()
            session.get(url + "/healthz", timeout=60)
            latencies.append((time.perf_counter() - started) * 1000)
            done.wait(0.02)


def loop(root: Path, slack: FakeSlack, baseline: Path) -> list[Loop]:
    body = deep_junit()
    found = []
    for variant in ("baseline", "now"):
        server = serve(root, slack, variant, baseline)
        said: list[str] = []
        latencies: list[float] = []
        done = threading.Event()
        try:
            asker = threading.Thread(target=healthz, args=(server.url, done, latencies))
            asker.start()
            posts = [
                threading.Thread(target=signed_post, args=(server.url, body, said))
                for _ in range(2)
            ]
            for thread in posts:
                thread.start()
            for thread in posts:
                thread.join()
            done.set()
            asker.join()
        finally:
            server.stop(graceful=variant != "baseline")
        say(f"{variant}: {said}, /healthz max {max(latencies):.0f} ms")
        found.append(Loop(variant, sorted(said), latencies))
    return found


def markdown(box: dict[str, str], rows: list[Memory], loops: list[Loop], size: int) -> str:
    out = machine_table(box)
    out += [
        "",
        f"**Peak RSS of `andon serve`, MB**: idle, then the peak while {CLIENTS} clients each "
        f"send a {size // MB} MB body at once (target: peak within {TARGET_MB} MB of idle)",
        "",
        "| door | body sent with | code | idle | peak | peak − idle | each client's answer |",
        "|---|---|---|--:|--:|--:|---|",
    ]
    for row in rows:
        label = "baseline" if row.variant == "baseline" else "**now**"
        out.append(
            f"| `{row.door}` | {row.sent_as} | {label} | {row.idle_mb:.0f} | {row.peak_mb:.0f} "
            f"| {row.growth_mb:.0f} | {'; '.join(row.answers)} |"
        )
    out += [
        "",
        "**The loop under two signed 4.8 MB CI bodies with JUnit nested 680,000 deep**: "
        "`GET /healthz` every 20 ms meanwhile",
        "",
        "| code | the two posts | /healthz asked | p50 ms | max ms |",
        "|---|---|--:|--:|--:|",
    ]
    for run in loops:
        label = "baseline" if run.variant == "baseline" else "**now**"
        out.append(
            f"| {label} | {'; '.join(run.answers)} | {len(run.healthz_ms)} "
            f"| {median(run.healthz_ms):.1f} | {max(run.healthz_ms):.0f} |"
        )
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--baseline", default="26095a2", help="the revision to compare with")
    parser.add_argument("--megabytes", type=int, default=200, help="each client's body")
    args = parser.parse_args()
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="andon-bodies-") as temp, FakeSlack() as slack:
        root = Path(temp)
        baseline = root / "baseline"
        baseline.mkdir()
        say(f"baseline: git archive {args.baseline}")
        archive = subprocess.run(
            ["git", "archive", args.baseline], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(baseline)], input=archive, check=True)
        rows = memory(root, slack, baseline, args.megabytes * MB)
        loops = loop(root, slack, baseline)
    box = machine("not used", load_before)
    box.pop("PostgreSQL", None)
    box["baseline"] = args.baseline
    if args.json:
        print(
            json.dumps(
                {
                    "machine": box,
                    "memory": [asdict(r) for r in rows],
                    "loop": [asdict(r) for r in loops],
                },
                indent=2,
            )
        )
    else:
        print(markdown(box, rows, loops, args.megabytes * MB))
    worst = max(r.growth_mb for r in rows if r.variant == "now")
    return 0 if worst <= TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
