"""Fifty people type ``/line stop <reason>`` at the same moment: the line must end with exactly
one open stoppage carrying every cause, one announcement and a reply per extra cause. Part of
``slash_ack.py``, which runs it after its timings.
"""

import math
import re
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import requests
from clients import Sample, answer_text
from common import TIMEOUT_S, unmet

from tests.fakes.slack import FakeSlack
from tests.harness import API_TOKEN, AndonServer
from tests.slack_requests import signed_headers, slash_command


@dataclass
class StopCheck:
    database: str
    people: int
    answers: dict[str, int] = field(default_factory=dict)
    stopped_answers: int = 0
    already_stopped_answers: int = 0
    line_state: str = ""
    open_stoppage: dict[str, Any] | None = None
    causes: int = 0
    audit_stops: int = 0
    audit_opened: int = 0
    stoppages_recorded: float = math.nan
    announcements: int = 0
    cause_replies: int = 0
    p50_ms: float = math.nan
    max_ms: float = math.nan
    problems: list[str] = field(default_factory=list)


Answer = tuple[float, int, str]  # seconds, HTTP status, the text answered


def concurrent_stops(
    database: str, server: AndonServer, slack: FakeSlack, people: int
) -> StopCheck:
    check = StopCheck(database, people)
    reasons = [f"bench cause {i:02d} from person {i}" for i in range(people)]
    slack.forget()
    answers = send_stops(server, slack, reasons)
    count_answers(check, answers)
    stoppage = read_back(check, server)
    count_posts(check, slack, people)
    check.problems = unmet(stop_expectations(check, stoppage))
    if sorted(c["text"] for c in stoppage.get("causes", [])) != sorted(reasons):
        check.problems.append("the open stoppage's causes are not the 50 reasons sent")
    return check


def send_stops(server: AndonServer, slack: FakeSlack, reasons: list[str]) -> list[Answer]:
    """One ``/line stop <reason>`` per person, all released together by a barrier."""
    people = len(reasons)
    barrier = threading.Barrier(people)
    answers: list[Answer] = [(math.nan, 0, "")] * people

    def person(i: int) -> None:
        body, kind = slash_command(
            "/line",
            f"stop {reasons[i]}",
            user=f"U0STOP{i:03d}",
            name=f"person{i}",
            response_url=slack.response_url(f"stop{i}"),
        )
        with requests.Session() as session:
            session.get(server.url + "/healthz", timeout=TIMEOUT_S)
            barrier.wait(timeout=60)
            headers = {"Content-Type": kind, **signed_headers(body)}
            started = time.perf_counter()
            try:
                answer = session.post(
                    server.url + "/slack/events", data=body, headers=headers, timeout=TIMEOUT_S
                )
            except requests.RequestException as failed:
                answers[i] = (time.perf_counter() - started, 0, repr(failed))
                return
            answers[i] = (time.perf_counter() - started, answer.status_code, answer_text(answer))

    threads = [threading.Thread(target=person, args=(i,), daemon=True) for i in range(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def count_answers(check: StopCheck, answers: list[Answer]) -> None:
    for _took, status, text in answers:
        check.answers[str(status)] = check.answers.get(str(status), 0) + 1
        check.stopped_answers += text.startswith("You stopped the line")
        check.already_stopped_answers += text.startswith("The line was already stopped")
    took = Sample(check.database, "stop", check.people, latencies_s=[a[0] for a in answers])
    check.p50_ms, check.max_ms = (
        round(took.percentile_ms(50), 2),
        round(max(took.latencies_s) * 1000, 2),
    )


def read_back(check: StopCheck, server: AndonServer) -> dict[str, Any]:
    """The line, the audit and the metrics after the stops; returns the open stoppage."""
    line = server.api("/api/line", token=API_TOKEN).json()
    check.line_state = line["state"]
    check.open_stoppage = line["stoppage"]
    stoppage = line["stoppage"] or {}
    check.causes = len(stoppage.get("causes", []))
    entries = server.api("/api/audit?limit=1000", token=API_TOKEN).json()["entries"]
    stops = [e for e in entries if e["action"] == "line.stop"]
    check.audit_stops = len(stops)
    check.audit_opened = sum(e["message"].startswith("stoppage #") for e in stops)
    metrics = requests.get(server.url + "/metrics", timeout=TIMEOUT_S).text
    found = re.search(r"^andon_stoppages (\S+)$", metrics, re.MULTILINE)
    check.stoppages_recorded = float(found.group(1)) if found else math.nan
    return stoppage


def count_posts(check: StopCheck, slack: FakeSlack, people: int) -> None:
    """The courier delivers after the acks: one announcement, its thread, a reply per extra
    cause."""
    with suppress(AssertionError):  # counted below; a shortfall is a problem of its own
        slack.wait_for("chat.postMessage", count=people + 1, timeout=30)
    posts = [c.params for c in slack.calls("chat.postMessage")]
    check.announcements = sum(
        p.get("thread_ts") is None and "Line stopped by" in p.get("text", "") for p in posts
    )
    check.cause_replies = sum("added a cause" in p.get("text", "") for p in posts)


def stop_expectations(check: StopCheck, stoppage: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    people = check.people
    return {
        "HTTP 200 answers": (check.answers.get("200", 0), people),
        "'You stopped the line' answers": (check.stopped_answers, 1),
        "'already stopped' answers": (check.already_stopped_answers, people - 1),
        "line state": (check.line_state, "stopped"),
        "open stoppage": (stoppage.get("state"), "open"),
        "causes on the open stoppage": (check.causes, people),
        "line.stop audit entries": (check.audit_stops, people),
        "audit entries that opened a stoppage": (check.audit_opened, 1),
        "stoppages recorded (andon_stoppages)": (check.stoppages_recorded, 1.0),
        "announcements in the channel": (check.announcements, 1),
        "'added a cause' replies in the thread": (check.cause_replies, people - 1),
    }
