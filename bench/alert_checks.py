"""What ``alerts.py`` checks after a storm: the pages (``GET /api/pages``), their DMs and the
channel's posts at a fake Slack that stamps each call's arrival, the line; and what one
database's run found.
"""

import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from alert_phases import Phase, Shot
from alert_storm import Fingerprint, Post
from common import unmet
from storm_runs import ROTATION

from tests.fakes.slack import Call, FakeSlack
from tests.harness import API_TOKEN, CHANNEL, AndonServer


class TimedSlack(FakeSlack):
    """The fake Slack, noting when each call arrived (``time.perf_counter``, this process)."""

    def __init__(self, latency_s: float = 0.0) -> None:
        super().__init__()
        self.arrived: list[tuple[float, Call]] = []
        self.latency_s = latency_s
        self._stamps = threading.Lock()

    def _record(self, call: Call) -> None:
        at = time.perf_counter()
        with self._stamps:
            self.arrived.append((at, call))
        super()._record(call)

    def _answer(self, method: str, params: dict[str, Any], auth: str) -> tuple[int, dict, dict]:
        if self.latency_s:  # a what-if: Slack's own time per call, which the fake does not take
            time.sleep(self.latency_s)
        return super()._answer(method, params, auth)

    def forget(self) -> None:
        with self._stamps:
            self.arrived.clear()
        super().forget()

    def posts(self) -> list[tuple[float, dict[str, Any]]]:
        with self._stamps:
            return [(at, c.params) for at, c in self.arrived if c.method == "chat.postMessage"]


def _dm_channel(user: str) -> str:
    return "D" + user[1:]  # the fake opens ``D…`` for ``U…``


def page_dms(slack: TimedSlack) -> list[tuple[float, dict[str, Any]]]:
    """The pages in the on-call people's DMs (a handoff note is not a page)."""
    dms = {_dm_channel(user) for user in ROTATION}
    return [
        (at, p)
        for at, p in slack.posts()
        if p.get("channel") in dms and not p.get("text", "").startswith("You are on call")
    ]


@dataclass
class Delivery:
    """One group: its first POST, that POST's answer, and its page's DM at Slack (s)."""

    alertname: str
    fingerprints: int
    first_post_s: float  # after the storm's start
    first_answer_ms: float
    dm_after_ms: float  # first POST leaving → DM at Slack; nan if none
    dms: int


@dataclass
class Checks:
    pages: int = 0
    pages_by_fingerprint: dict[str, int] = field(default_factory=dict)
    pages_by_group: dict[str, int] = field(default_factory=dict)
    page_dms: int = 0
    oncall: list[str] = field(default_factory=list)
    answered_paged: int = 0
    replay_paged: int = 0
    replay_unchanged: int = 0
    line_state: str = ""
    stoppages: int = 0
    causes: int = 0
    announcements: int = 0
    cause_replies: int = 0
    announced_after_ms: float = math.nan
    problems: list[str] = field(default_factory=list)


@dataclass
class Run:
    database: str
    phases: dict[str, Phase] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    dm_span_s: tuple[float, float] = (math.nan, math.nan)  # first, last DM after the start
    messages: tuple[int, float, float] = (0, math.nan, math.nan)  # every post: count, first, last
    checks: Checks | None = None
    log_errors: list[str] = field(default_factory=list)
    skipped: str | None = None


def deliveries(
    storm: Phase, posts: list[Post], fps: list[Fingerprint], slack: TimedSlack
) -> list[Delivery]:
    """Per group (one page each): its first POST, and its page's DM."""
    first: dict[int, Shot] = {}
    for post, shot in zip(posts, storm.shots, strict=True):
        if shot is not None and (post.group not in first or shot.left < first[post.group].left):
            first[post.group] = shot
    names = {fp.group: fp.alertname for fp in fps}
    dms: dict[int, list[float]] = {}
    for at, params in page_dms(slack):
        text = params.get("text", "")
        for group, name in names.items():
            if text.startswith(f"{name} (critical) — page #"):
                dms.setdefault(group, []).append(at)
    found = []
    for group, name in sorted(names.items()):
        shot = first[group]
        arrived = min(dms.get(group, [math.nan]))
        found.append(
            Delivery(
                alertname=name,
                fingerprints=sum(fp.group == group for fp in fps),
                first_post_s=round(shot.left - storm.start, 4),
                first_answer_ms=round((shot.answered - shot.left) * 1000, 2),
                dm_after_ms=round((arrived - shot.left) * 1000, 2),
                dms=len(dms.get(group, [])),
            )
        )
    return found


def check(
    server: AndonServer,
    slack: TimedSlack,
    run: Run,
    fps: list[Fingerprint],
    posts: list[Post],
) -> Checks:
    c = Checks()
    pages = server.api("/api/pages?limit=500", token=API_TOKEN).json()["pages"]
    count_pages(c, pages, fps)
    c.page_dms = len(page_dms(slack))
    storm, replay = run.phases["storm"], run.phases["replay"]
    c.answered_paged = sum(int(s.answer.get("paged", 0)) for s in storm.done())
    c.replay_paged = sum(int(s.answer.get("paged", 0)) for s in replay.done())
    c.replay_unchanged = sum(int(s.answer.get("unchanged", 0)) for s in replay.done())
    line = server.api("/api/line", token=API_TOKEN).json()
    c.line_state = line["state"]
    stoppage = line["stoppage"] or {}
    c.causes = len(stoppage.get("causes", []))
    c.stoppages = len({p["stoppage_id"] for p in pages if p["stoppage_id"] is not None})
    count_channel(c, slack, storm)
    c.problems = unmet(page_expectations(c, run, pages, fps, posts))
    return c


def count_pages(c: Checks, pages: list[dict[str, Any]], fps: list[Fingerprint]) -> None:
    """The pages by fingerprint and by group, and whom they paged."""
    c.pages = len(pages)
    on_pages = Counter(a["identity"] for p in pages for a in p.get("alerts", []))
    c.pages_by_fingerprint = {
        fp.fingerprint: on_pages.get(f"alertmanager:{fp.fingerprint}", 0) for fp in fps
    }
    by_name = Counter(p["name"] for p in pages)
    c.pages_by_group = {fp.alertname: by_name.get(fp.alertname, 0) for fp in fps}
    c.oncall = sorted({str(p["oncall"]) for p in pages})


def count_channel(c: Checks, slack: TimedSlack, storm: Phase) -> None:
    """The line-stopped announcement and the cause replies in the channel, and when."""
    channel = [(at, p) for at, p in slack.posts() if p.get("channel") == CHANNEL]
    c.announcements = sum(p.get("text", "").startswith("Line stopped by") for _, p in channel)
    c.cause_replies = sum(
        "added a cause" in p.get("text", "") or " more causes" in p.get("text", "")
        for _, p in channel
    )
    announced = [at for at, p in channel if p.get("text", "").startswith("Line stopped by")]
    if announced:
        c.announced_after_ms = round((announced[0] - min(s.left for s in storm.done())) * 1000, 2)


def page_expectations(
    c: Checks, run: Run, pages: list[dict[str, Any]], fps: list[Fingerprint], posts: list[Post]
) -> dict[str, tuple[Any, Any]]:
    storm, replay = run.phases["storm"], run.phases["replay"]
    n, alerts = len({fp.group for fp in fps}), sum(len(p.fingerprints) for p in posts)
    return {
        "pages (GET /api/pages)": (c.pages, n),
        "page DMs at the fake Slack": (c.page_dms, n),
        "groups with exactly one page": (sum(v == 1 for v in c.pages_by_group.values()), n),
        "fingerprints on exactly one page": (
            sum(v == 1 for v in c.pages_by_fingerprint.values()),
            len(fps),
        ),
        "groups with exactly one DM": (sum(d.dms == 1 for d in run.deliveries), n),
        "pages paging someone of the rotation": (
            sum(p["oncall"] in ROTATION for p in pages),
            c.pages,
        ),
        "pages opened, by the answers' `paged`": (c.answered_paged, n),
        "storm answers 200 with every alert counted": (
            sum(s.ok for s in storm.done()),
            len(posts),
        ),
        "replay answers 200 with every alert counted": (
            sum(s.ok for s in replay.done()),
            len(posts),
        ),
        "pages opened by the replay": (c.replay_paged, 0),
        "alerts unchanged in the replay": (c.replay_unchanged, alerts),
        "line": (c.line_state, "stopped"),
        "stoppages the pages stopped": (c.stoppages, 1),
        "causes on the open stoppage": (c.causes, n),
    }
