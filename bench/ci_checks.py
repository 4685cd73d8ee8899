"""What ``ci_ingest.py`` checks after its load: every result stored exactly once (read back
through the audit log), and one red build on ``main`` announced and stopping the line; and what
one database's run found.
"""

import json
import math
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests
from ci_deliveries import Deliveries, signed_json
from clients import Paced, Sample, answer_json
from common import TIMEOUT_S

from tests.fakes.slack import FakeSlack
from tests.harness import API_TOKEN, AndonServer

SLACK_WRITES = ("chat.postMessage", "chat.postEphemeral", "chat.update", "conversations.open")


@dataclass
class Stored:
    """Were the results sent stored exactly once? Read back through the audit log."""

    database: str
    by_phase: dict[str, dict[str, int]] = field(default_factory=dict)
    ignored_sent: int = 0
    ignored_audited: int = 0
    audit_rows: int = 0
    line_state: str = ""
    slack_writes: int = 0
    problems: list[str] = field(default_factory=list)


def audit_rows(server: AndonServer) -> list[dict[str, Any]]:
    """Every audit entry, newest first, 1,000 a page."""
    rows: list[dict[str, Any]] = []
    before = ""
    while True:
        page = server.api(f"/api/audit?limit=1000{before}", token=API_TOKEN)
        page.raise_for_status()
        entries = page.json()["entries"]
        rows += entries
        if len(entries) < 1000:
            return rows
        before = f"&before={entries[-1]['id']}"


def check_stored(database: str, server: AndonServer, load: Deliveries, slack: FakeSlack) -> Stored:
    check = Stored(database, ignored_sent=load.ignored_sent)
    rows = audit_rows(server)
    check.audit_rows = len(rows)
    found = Counter(r["detail"] for r in rows if r["action"] == "ci.result")
    check.ignored_audited = sum(
        r["action"] == "webhook" and r["detail"].startswith("ignored:") for r in rows
    )
    ids: Counter[int] = Counter()
    expected = {s.detail for s in load.sent.values()}
    for sent in load.sent.values():
        phase = check.by_phase.setdefault(
            sent.phase,
            {"sent": 0, "answered_recorded": 0, "stored_once": 0, "lost": 0, "doubled": 0},
        )
        phase["sent"] += 1
        if sent.answer and isinstance(sent.answer.get("recorded"), int):
            phase["answered_recorded"] += 1
            ids[sent.answer["recorded"]] += 1
        times = found[sent.detail]
        phase["stored_once"] += times == 1
        phase["lost"] += times == 0
        phase["doubled"] += times > 1
    for name, phase in check.by_phase.items():
        if phase["lost"] or phase["doubled"]:
            check.problems.append(f"{name}: {phase['lost']} lost, {phase['doubled']} doubled")
        if phase["answered_recorded"] != phase["sent"]:
            missing = phase["sent"] - phase["answered_recorded"]
            check.problems.append(f"{name}: {missing} results not answered 'recorded'")
    strangers = sum(n for detail, n in found.items() if detail not in expected)
    if strangers:
        check.problems.append(f"{strangers} ci.result audit rows for results never sent")
    if any(n > 1 for n in ids.values()):
        check.problems.append("two answers carried the same recorded id")
    if check.ignored_audited != check.ignored_sent:
        check.problems.append(
            f"{check.ignored_sent} ignored deliveries sent, {check.ignored_audited} audited"
        )
    check.line_state = server.api("/api/line", token=API_TOKEN).json()["state"]
    if check.line_state != "running":
        check.problems.append(f"the line is {check.line_state} after feature-branch results")
    check.slack_writes = sum(len(slack.calls(m)) for m in SLACK_WRITES)
    if check.slack_writes:
        check.problems.append(f"{check.slack_writes} Slack posts after feature-branch results")
    return check


@dataclass
class RedBuild:
    """One failed build on ``main``, alone: the expensive path."""

    database: str
    status: int = 0
    answer: dict[str, Any] = field(default_factory=dict)
    latency_ms: float = math.nan
    announced_after_ms: float = math.nan
    line_state: str = ""
    problems: list[str] = field(default_factory=list)


def red_build(database: str, server: AndonServer, slack: FakeSlack) -> RedBuild:
    red = RedBuild(database)
    revision = secrets.token_hex(20)
    payload = {
        "revision": revision,
        "branch": "main",
        "status": "failed",
        "pipeline": "tests",
        "run_id": "red-1",
        "url": "https://ci.example.com/tests/red-1",
        "duration_s": 312,
        "failed_tests": ["tests/test_line.py::test_stop", "tests/test_ci.py::test_red"],
        "author_name": "Load Bench",
        "author_email": "bench@example.com",
        "subject": "Break the build on purpose",
    }
    body = json.dumps(payload).encode()
    headers = signed_json(body, "X-Andon-Signature")
    with requests.Session() as session:
        session.get(server.url + "/healthz", timeout=TIMEOUT_S)
        started = time.perf_counter()
        answer = session.post(
            server.url + "/hooks/ci/generic", data=body, headers=headers, timeout=TIMEOUT_S
        )
        red.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        red.status, red.answer = answer.status_code, answer_json(answer)
        try:
            slack.wait_for("chat.postMessage", lambda p: revision[:7] in str(p), timeout=30)
            red.announced_after_ms = round((time.perf_counter() - started) * 1000, 2)
        except AssertionError:
            red.problems.append("no announcement naming the revision in 30 s")
    red.line_state = server.api("/api/line", token=API_TOKEN).json()["state"]
    if red.status != 200 or red.answer.get("stopped_line") is not True:
        red.problems.append(f"answered {red.status} {red.answer}, expected stopped_line true")
    if red.line_state != "stopped":
        red.problems.append(f"the line is {red.line_state}, expected stopped")
    return red


@dataclass
class Run:
    database: str
    samples: list[Sample] = field(default_factory=list)
    paced: list[Paced] = field(default_factory=list)
    stored: Stored | None = None
    red: RedBuild | None = None
    idle_cpu: dict[str, float] = field(default_factory=dict)  # per cent of a core, by process
    log_errors: list[str] = field(default_factory=list)
    skipped: str | None = None
