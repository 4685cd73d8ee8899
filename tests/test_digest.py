"""The weekly digest, counted by hand: two weeks of a team's history are played through the real
fronts — signed slash commands, thread replies and button presses to ``/slack/events``, CI and
alert webhooks, deploys into local directories — with a clock the test moves. Each figure of the
digest of 2026-W47 is checked against the values counted below; then the scheduled post goes out
exactly once across a restart at its minute, with its chart through Slack's upload flow.

The history (UTC; Monday 2026-11-16 starts W47):

W46  Tue 10 10:00  c1 (committed 09:00, CI 20 min, green) deployed
     Thu 12 10:00  line stopped by hand; five whys scheduled; started 10:20
W47  Tue 17 09:00  c2 green (tests 10 min, lint 1 min); deployed 10:00 (committed 08:00)
     Wed 18 11:30  c3 green (tests 5 min); deployed 12:00 (committed 11:00)
           12:10  page signups_low stops the line (S1); acked 12:14; rollback 12:15
           12:20  page disk_full; escalated 12:26; acked 12:27
           12:40, 12:50  both resolved by their source
           13:00  the five whys of S1 answered: 3 investments, 2 reasoned "none"
           13:10  line started (S1: 1 h)
     Thu 19 15:00  c4 red (tests 15 min) stops the line (S2); whys scheduled; started 15:30
     Fri 20 10:00  the level-1 investment is done (the level-2 one, due Nov 20, is not)
     Sat 21 10:00  line stopped by hand (S3); forced to start Mon 23 08:00 (46 h)
"""

import json
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.workers import digests
from core.clock import ManualClock
from tests.ci_payloads import generic, post, signature
from tests.deploy_line import App, newest_ended, toml_value
from tests.fakes.slack import FakeSlack, file_message_text
from tests.harness import CHANNEL, andon_env, run_cli
from tests.inprocess import InProcessAndon
from tests.slack_requests import block_action, slash_command, thread_reply

ONE, TWO, LEAD = "U0ONE", "U0TWO", "U0LEAD"
MONDAY_W47 = datetime(2026, 11, 16, tzinfo=UTC)


def _config(root: Path, app: App) -> str:
    return f"""
[slack]
channel = "{CHANNEL}"
[access]
admins = ["{LEAD}"]
[repo]
path = {toml_value(str(app.clone))}
[ci]
budget = "10m"
[environments.production]
path = {toml_value(str(root / "hosts"))}
hosts = ["local"]
[oncall]
rotation = ["{ONE}", "{TWO}"]
handoff = "mon 09:00"
repeat = "1h"
ack_timeout = "5m"
[digest]
when = "mon 09:00"
timezone = "UTC"
"""


class Team:
    """The people of the scenario, acting through Andon's real doors at the clock's time."""

    def __init__(self, andon: InProcessAndon, app: App) -> None:
        self.andon, self.app, self.slack = andon, app, andon.slack
        self._events = 0

    def at(self, day: int, hour: int, minute: int = 0) -> None:
        moment = datetime(2026, 11, day, hour, minute, tzinfo=UTC)
        assert moment >= self.andon.clock.now(), "the story only moves forward"
        self.andon.clock.advance(moment - self.andon.clock.now())

    def commit(self, message: str, *, day: int, hour: int) -> str:
        stamp = f"2026-11-{day:02d}T{hour:02d}:00:00+00:00"
        self.app.env.update(GIT_COMMITTER_DATE=stamp, GIT_AUTHOR_DATE=stamp)
        return self.app.commit(message, {"app.txt": message})

    def ci(self, revision: str, status: str, *, minutes: int, pipeline: str = "tests") -> None:
        payload = generic(revision, status, pipeline=pipeline, run_id=f"{pipeline}-{revision[:8]}")
        payload["duration_s"] = minutes * 60
        assert post(self.andon, "generic", payload).status_code == 200  # type: ignore[arg-type]
        self.andon.deliver()

    def slash(self, command: str, text: str, user: str = "U0MARIA") -> str:
        body, kind = slash_command(
            command, text, user=user, name=user.lower(), response_url=self.slack.response_url()
        )
        answer = self.andon.slack_post(body, kind)
        assert answer.status_code == 200, answer.text
        self.andon.deliver()
        return str(answer.json()["text"])

    def press(self, action: str, value: str, user: str) -> None:
        """A button press is acted on after Slack's ack: wait for its answer before moving on,
        or the clock would move first and the press be recorded late."""
        answered = len(self.slack.calls("response_url"))
        body, kind = block_action(
            action, value, user=user, name=user.lower(), response_url=self.slack.response_url()
        )
        assert self.andon.slack_post(body, kind).status_code == 200
        self.slack.wait_for("response_url", count=answered + 1)
        self.andon.deliver()

    def deploy(self, revision: str) -> None:
        count = len(self.andon.api("/api/deploys")["deploys"])
        self.slash("/deploy", revision)
        self._finished(count + 1)

    def rollback(self) -> None:
        count = len(self.andon.api("/api/deploys")["deploys"])
        self.slash("/rollback", "")
        self._finished(count + 1)

    def alert(self, name: str, status: str = "firing") -> None:
        body = json.dumps({"name": name, "status": status, "summary": f"{name} is off"}).encode()
        answer = requests.post(
            f"{self.andon.url}/hooks/alerts/generic",
            data=body,
            headers={"Content-Type": "application/json", "X-Andon-Signature": signature(body)},
            timeout=10,
        )
        assert answer.status_code in (200, 202), answer.text
        self.andon.deliver()

    def say(self, text: str) -> None:
        """A reply in the open stoppage's thread."""
        thread = self.andon.api("/api/line")["stoppage"]["thread_ts"]
        self._events += 1
        body, kind = thread_reply(
            text, user="U0MARIA", thread_ts=thread, event_id=f"EvDIGEST{self._events:04d}"
        )
        assert self.andon.slack_post(body, kind).status_code == 200
        self.andon.deliver()

    def _finished(self, count: int) -> None:
        newest = newest_ended(
            lambda: self.andon.api("/api/deploys")["deploys"], count=count, timeout=30
        )
        assert newest["status"] == "succeeded", newest


def _play(team: Team) -> None:
    _week_46(team)
    _deploys_of_week_47(team)
    _incident_of_week_47(team)
    _rest_of_week_47(team)


def _week_46(team: Team) -> None:
    c1 = team.commit("c1", day=10, hour=9)
    team.at(10, 9, 40)
    team.ci(c1, "passed", minutes=20)
    team.at(10, 10)
    team.deploy(c1)
    team.at(12, 10)
    team.slash("/line", "stop the staging database is full")
    team.slash("/whys", "schedule 2026-11-13 10:00")
    team.at(12, 10, 20)
    assert team.slash("/line", "start").startswith("You started the line")


def _deploys_of_week_47(team: Team) -> None:
    c2 = team.commit("c2", day=17, hour=8)
    team.at(17, 9)
    team.ci(c2, "passed", minutes=10)
    team.ci(c2, "passed", minutes=1, pipeline="lint")
    team.at(17, 10)
    team.deploy(c2)
    c3 = team.commit("c3", day=18, hour=11)
    team.at(18, 11, 30)
    team.ci(c3, "passed", minutes=5)
    team.at(18, 12)
    team.deploy(c3)


def _incident_of_week_47(team: Team) -> None:
    team.at(18, 12, 10)
    team.alert("signups_low")  # page #1, stoppage S1
    team.at(18, 12, 14)
    team.press("page_ack", "1", user=ONE)
    team.at(18, 12, 15)
    team.rollback()
    team.at(18, 12, 20)
    team.alert("disk_full")  # page #2: a second cause of S1
    team.at(18, 12, 26)
    team.andon.andon.tick_pages()  # nobody acknowledged within 5 min: escalated
    team.andon.deliver()
    team.at(18, 12, 27)
    team.press("page_ack", "2", user=TWO)
    team.at(18, 12, 40)
    team.alert("signups_low", "resolved")
    team.at(18, 12, 50)
    team.alert("disk_full", "resolved")
    team.at(18, 13)
    for answer in ("a", "b", "c", "d", "e"):
        team.say(f"because {answer}")
    team.say(
        "1: add a contract test for sign-ups <@U0ANA|ana> due 2026-11-20 #tests\n"
        "2: alert on the sign-up rate <@U0BEN|ben> due 2026-11-20 #alerting\n"
        "3: none: the deploy went as designed\n"
        "4: canary the payments flow first due 2026-12-01 #deploy\n"
        "5: none: the process held"
    )
    team.at(18, 13, 10)
    assert team.slash("/line", "start").startswith("You started the line")


def _rest_of_week_47(team: Team) -> None:
    c4 = team.commit("c4", day=19, hour=14)
    team.at(19, 15)
    team.ci(c4, "failed", minutes=15)  # S2
    team.slash("/whys", "schedule 2026-11-20 10:00")
    team.at(19, 15, 30)
    assert team.slash("/line", "start").startswith("You started the line")
    team.at(20, 10)
    level_one = next(a for a in team.andon.api("/api/actions")["actions"] if a["level"] == 1)
    team.press("action_done", str(level_one["id"]), user="U0ANA")
    team.at(21, 10)
    team.slash("/line", "stop the checkout page is blank")  # S3
    team.at(23, 8)
    assert "started the line" in team.slash("/line", "start force it is Monday", user=LEAD)


@pytest.fixture(scope="module")
def history(
    tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack
) -> Iterator[tuple[Path, InProcessAndon]]:
    """Two weeks played once; tests read the digest, and a copy of the database to post it."""
    root = tmp_path_factory.mktemp("digest")
    fake_slack.forget()
    app = App(root / "git")
    clock = ManualClock(datetime(2026, 11, 9, 9, tzinfo=UTC))
    running = InProcessAndon(
        root / "andon", config=_config(root, app), slack=fake_slack, clock=clock
    ).start()
    try:
        _play(Team(running, app))
        running.clock.advance(datetime(2026, 11, 23, 8, 30, tzinfo=UTC) - running.clock.now())
        yield root, running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def w47(history: tuple[Path, InProcessAndon]) -> dict[str, Any]:
    """``andon digest --week 2026-W47 --format json`` against the history's database."""
    root, running = history
    env = andon_env(root / "cli", database_url=running.settings.andon_database_url, slack=None)
    env["ANDON_CONFIG"] = running.settings.andon_config
    out = run_cli(
        ["digest", "--week", "2026-W47", "--format", "json", "--chart", str(root / "w47.png")],
        env=env,
        cwd=root,
    )
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def test_investments_made_count_actions_none_overdue_and_each_whys(w47: dict[str, Any]) -> None:
    made = w47["this"]["investments"]
    assert (made["created"], made["completed"], made["declined"]) == (3, 1, 2)
    assert made["by_category"] == [["alerting", 1], ["deploy", 1], ["tests/CI", 1]]
    assert made["by_level"] == [[1, 1], [2, 1], [4, 1]]
    assert [(i["owner"], i["due"]) for i in made["overdue"]] == [("U0BEN", "2026-11-20")]
    assert (made["whys_done"], made["whys_scheduled"], made["whys_missing"]) == (1, 1, 1)
    before = w47["before"]["investments"]
    assert (before["created"], before["whys_scheduled"]) == (0, 1)


def test_the_line_counts_stoppages_their_time_and_causes(w47: dict[str, Any]) -> None:
    line = w47["this"]["line"]
    assert line["stoppages"] == 3
    assert line["stopped_s"] == (60 + 30 + 38 * 60) * 60  # S3 counts up to the week's end
    assert line["longest_s"] == 46 * 3600
    assert line["restart_median_s"] == 3600
    assert line["causes"] == [["CI", 1], ["manual", 1], ["page", 1], ["deploy", 0]]
    assert (w47["before"]["line"]["stoppages"], w47["before"]["line"]["stopped_s"]) == (1, 1200)


def test_dora_measures_frequency_lead_time_failures_and_restore(w47: dict[str, Any]) -> None:
    dora = w47["this"]["dora"]
    assert dora["deploys"] == 2
    assert dora["lead_time_median_s"] == 1.5 * 3600
    # c3's release was rolled back from: one failed change of two (c2 stood)
    assert (dora["changes"], dora["failed_changes"], dora["change_failure_rate"]) == (2, 1, 0.5)
    # from c3 going live (12:00) to the rollback that made production whole (12:15)
    assert dora["restore_median_s"] == 15 * 60
    before = w47["before"]["dora"]
    assert (before["deploys"], before["lead_time_median_s"], before["failed_changes"]) == (
        1,
        3600,
        0,
    )
    assert w47["environments"] == ["production"]


def test_pages_name_the_noisiest_the_time_to_acknowledge_and_escalations(
    w47: dict[str, Any],
) -> None:
    pages = w47["this"]["pages"]
    assert pages["pages"] == 2 and pages["escalations"] == 1
    assert pages["by_check"] == [["disk_full", 1], ["signups_low", 1]]
    assert pages["ack_median_s"] == 5.5 * 60
    assert w47["before"]["pages"]["pages"] == 0


def test_ci_pass_rate_and_durations_against_the_budget(w47: dict[str, Any]) -> None:
    ci = w47["this"]["ci"]
    assert (ci["runs"], ci["passed"], ci["pass_rate"]) == (4, 3, 0.75)
    assert ci["duration_median_s"] == 450 and ci["budget_s"] == 600 and ci["over_budget"] == 1
    assert ci["slowest"] == [["tests", 600], ["lint", 60]]
    assert (w47["before"]["ci"]["pass_rate"], w47["before"]["ci"]["duration_median_s"]) == (
        1.0,
        1200,
    )


def test_the_trend_covers_eight_weeks_ending_with_the_digests(w47: dict[str, Any]) -> None:
    trend = w47["trend"]
    assert [w["week"] for w in trend] == [f"2026-W{n}" for n in range(40, 48)]
    assert [(w["deploys"], w["stoppages"], w["investments"]) for w in trend[-2:]] == [
        (1, 1, 0),
        (2, 3, 3),
    ]
    assert all((w["deploys"], w["stoppages"]) == (0, 0) for w in trend[:-2])
    assert w47["since"] == "2026-W46"  # the chart leaves out the weeks before Andon's first


def test_the_text_says_each_figure_and_its_change(history: tuple[Path, InProcessAndon]) -> None:
    root, running = history
    env = andon_env(root / "cli", database_url=running.settings.andon_database_url, slack=None)
    env["ANDON_CONFIG"] = running.settings.andon_config
    out = run_cli(["digest", "--week", "2026-W47", "--no-chart"], env=env, cwd=root)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.startswith("Weekly digest — 2026-W47 (Nov 16 – Nov 22)")
    for said in (
        "Action items created: 3 (+3); completed: 1 (+1); 2 levels answered “none”",
        "Overdue: 1 — alert on the sign-up rate (@ben, due Nov 20) — /actions done 2",
        "Five whys: 1 done (+1), 1 scheduled, 1 missing",
        "Stoppages: 3 (+2); stopped 1 d 15 h (+1 d 15 h) in all; longest 1 d 22 h",
        "Deployment frequency: 2 deploys (+1), 0.3 a day",
        "Lead time for changes (median): 1 h 30 min (+30 min)",
        "Change failure rate: 50% — 1 of 2 (+50 pts)",
        "Pages: 2 (+2); escalations: 1 (+1)",
        "Pass rate: 75% — 3 of 4 runs (−25 pts)",
        "Duration (median): 7 min (−12 min) against a 10 min budget, 1 run over it",
    ):
        assert said in text, said


def test_a_quiet_week_says_none_in_every_section(history: tuple[Path, InProcessAndon]) -> None:
    root, running = history
    env = andon_env(root / "cli", database_url=running.settings.andon_database_url, slack=None)
    env["ANDON_CONFIG"] = running.settings.andon_config
    out = run_cli(
        ["digest", "--week", "2026-W40", "--format", "markdown", "--no-chart"], env=env, cwd=root
    )
    assert out.returncode == 0, out.stderr
    for heading in ("Investments made", "The line", "DORA", "Pages", "CI"):
        assert f"## {heading}" in out.stdout
    assert "- Stoppages: none (±0)" in out.stdout and "- Runs: none (±0)" in out.stdout
    assert "- Change failure rate: none" in out.stdout


def test_an_unreadable_week_is_refused_in_words(history: tuple[Path, InProcessAndon]) -> None:
    root, running = history
    env = andon_env(root / "cli", database_url=running.settings.andon_database_url, slack=None)
    env["ANDON_CONFIG"] = running.settings.andon_config
    out = run_cli(["digest", "--week", "2026-W60", "--no-chart"], env=env, cwd=root)
    assert out.returncode == 1
    assert "2026 has no week 60" in out.stderr and out.stdout == ""


def test_slash_digest_last_answers_the_asker_only(history: tuple[Path, InProcessAndon]) -> None:
    _, running = history
    body, kind = slash_command(
        "/digest", "last", user="U0MARIA", name="maria", response_url=running.slack.response_url()
    )
    answer = running.slack_post(body, kind)
    assert answer.status_code == 200
    shown = answer.json()
    assert shown["text"].startswith("Weekly digest — 2026-W47")
    assert shown.get("response_type", "ephemeral") == "ephemeral"
    assert "Change failure rate: 50% — 1 of 2" in json.dumps(shown["blocks"], ensure_ascii=False)


def _replica(history: tuple[Path, InProcessAndon], where: Path, slack: FakeSlack) -> Any:
    """A second Andon on a copy of the history's database, its clock at Monday 09:00."""
    _, running = history
    where.mkdir()
    shutil.copy(Path(running.settings.andon_database_url.removeprefix("sqlite:///")), where)
    config = Path(running.settings.andon_config).read_text()
    clock = ManualClock(datetime(2026, 11, 23, 9, tzinfo=UTC))

    def start() -> InProcessAndon:
        return InProcessAndon(where, config=config, slack=slack, clock=clock).start()

    return start


def _digest_posts(slack: FakeSlack) -> list[dict[str, Any]]:
    """The digest is the message its chart is shared with; none goes out as a plain post."""
    posts = [c.params for c in slack.calls("chat.postMessage")] + slack.file_messages()
    return [p for p in posts if p.get("text", "").startswith("Weekly digest")]


def test_the_digest_is_posted_once_at_its_minute_even_across_a_restart(
    history: tuple[Path, InProcessAndon], tmp_path: Path, fake_slack: FakeSlack
) -> None:
    start = _replica(history, tmp_path / "replica", fake_slack)
    fake_slack.forget()
    first = start()
    try:
        first.clock.advance(timedelta(seconds=-1))
        assert digests.post_due(first.andon) is None  # 08:59:59: not yet
        first.clock.advance(timedelta(seconds=1))
        posted = digests.post_due(first.andon)
        assert posted is not None and posted.week == "2026-W47"
        first.deliver()
    finally:
        first.stop()
    again = start()  # a restart in the same minute
    try:
        assert digests.post_due(again.andon) is None
        again.deliver()
    finally:
        again.stop()
    posts = _digest_posts(fake_slack)
    assert len(posts) == 1 and posts[0]["channel"] == CHANNEL
    assert posts[0]["text"].startswith("Weekly digest — 2026-W47 (Nov 16 – Nov 22)")


def test_two_replicas_at_the_same_minute_post_one_digest(
    history: tuple[Path, InProcessAndon], tmp_path: Path, fake_slack: FakeSlack
) -> None:
    start = _replica(history, tmp_path / "replica", fake_slack)
    fake_slack.forget()
    replicas = [start(), start()]
    try:
        results: list[Any] = []
        threads = [
            threading.Thread(target=lambda r=r: results.append(digests.post_due(r.andon)))
            for r in replicas
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(r is not None for r in results) == [False, True]
        for replica in replicas:
            replica.deliver()
    finally:
        for replica in replicas:
            replica.stop()
    assert len(_digest_posts(fake_slack)) == 1


def test_the_chart_is_attached_to_the_digest_through_slacks_external_upload_flow(
    history: tuple[Path, InProcessAndon], tmp_path: Path, fake_slack: FakeSlack
) -> None:
    start = _replica(history, tmp_path / "replica", fake_slack)
    fake_slack.forget()
    replica = start()
    try:
        assert digests.post_due(replica.andon) is not None
        replica.deliver()
    finally:
        replica.stop()
    asked = fake_slack.calls("files.getUploadURLExternal")
    completed = fake_slack.calls("files.completeUploadExternal")
    assert len(asked) == 1 and len(completed) == 1
    assert asked[0].params["filename"] == "andon-digest-2026-W47.png"
    shared = completed[0].params
    assert shared["channel_id"] == CHANNEL and "thread_ts" not in shared  # in the channel
    assert "initial_comment" not in shared  # Slack would ignore the blocks beside it
    (message,) = fake_slack.file_messages()
    assert message["text"].startswith("Weekly digest — 2026-W47 (Nov 16 – Nov 22)")
    assert [b["type"] for b in message["blocks"]][:2] == ["header", "section"]
    assert not [c for c in fake_slack.calls("chat.postMessage") if "digest" in str(c.params)]
    file_id = shared["files"][0]["id"]
    uploaded = fake_slack.uploaded(file_id)
    assert uploaded.startswith(b"\x89PNG\r\n\x1a\n")
    assert int(asked[0].params["length"]) == len(uploaded)
    title = shared["files"][0]["title"]  # the chart's own title: what it shows
    assert title.startswith("Stoppages, investments and deploys: week") and title.endswith("W47")


def test_a_channel_named_by_hash_gets_the_digest_then_its_chart_in_the_thread(
    history: tuple[Path, InProcessAndon], tmp_path: Path, fake_slack: FakeSlack
) -> None:
    """Slack shares a file only in a channel named by ID, learned from a post's answer."""
    _, running = history
    config = Path(running.settings.andon_config).read_text()
    named = config.replace(f'channel = "{CHANNEL}"', 'channel = "#line"')
    (tmp_path / "named").mkdir()
    shutil.copy(
        Path(running.settings.andon_database_url.removeprefix("sqlite:///")), tmp_path / "named"
    )
    clock = ManualClock(datetime(2026, 11, 23, 9, tzinfo=UTC))
    fake_slack.forget()
    replica = InProcessAndon(
        tmp_path / "named", config=named, slack=fake_slack, clock=clock
    ).start()
    try:
        assert digests.post_due(replica.andon) is not None
        replica.deliver()
    finally:
        replica.stop()
    (post,) = _digest_posts(fake_slack)
    assert post["channel"] == "#line"
    (shared,) = fake_slack.calls("files.completeUploadExternal")
    assert shared.params["channel_id"].startswith("C") and shared.params["thread_ts"]
    assert "blocks" not in shared.params


def test_andon_serve_posts_the_digest_when_its_moment_comes(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    """The wiring: the scheduler's tick finds the moment (this very minute) and posts last week."""
    from tests.harness import AndonServer

    fake_slack.forget()
    now = datetime.now(UTC)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[now.weekday()]
    config = (
        f'[slack]\nchannel = "{CHANNEL}"\n[digest]\nwhen = "{day} {now:%H:%M}"\ntimezone = "UTC"\n'
    )
    server = AndonServer(
        tmp_path, database_url=f"sqlite:///{tmp_path / 'andon.db'}", slack=fake_slack, config=config
    ).start()
    try:
        posted = fake_slack.wait_for(
            "files.completeUploadExternal",
            lambda p: file_message_text(p).startswith("Weekly digest"),
            timeout=20,
        )
    finally:
        server.stop()
    last_week = (now - timedelta(days=7)).isocalendar()
    said = file_message_text(posted[-1].params)
    assert said.startswith(f"Weekly digest — {last_week[0]}-W{last_week[1]:02d}")
    assert len(_digest_posts(fake_slack)) == 1
