"""Races through the real fronts, on SQLite and PostgreSQL: a running ``andon serve`` gets signed
Slack requests and webhooks from many threads at once — stops, deploys, a start racing a red
build — and Slack retries and webhook redeliveries, alone or at once, act only once."""

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.ci_payloads import generic, post, sha, signature
from tests.deploy_line import UNFINISHED, App, newest_ended, toml_value
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, AndonServer
from tests.slack_requests import block_action, slash_command, thread_reply
from tests.waiting import eventually

# A campaign: `make campaign` (run by .ci/run after `make test`), not `make test`.
pytestmark = pytest.mark.campaign

STOPS = 50  # concurrent /line stop
START_RACES = 8  # /line start against a red build, per database
ONCALL = "U0ONCALL"


class Line:
    """``andon serve`` with a repository, a ``local`` production environment whose deploys wait
    for a file the test creates, and a rotation to page."""

    def __init__(self, root: Path, *, slack: FakeSlack, database_url: str) -> None:
        self.root, self.slack = root, slack
        self.app = App(root / "git")
        self.gate = root / "let-the-deploy-finish"
        wait = f"i=0; while [ ! -e {self.gate} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done"
        config = "\n".join(
            [
                "[slack]",
                f'channel = "{CHANNEL}"',
                "[access]",
                'admins = ["U0MARIA"]',
                "[repo]",
                f"path = {toml_value(str(self.app.clone))}",
                "[oncall]",
                f'rotation = ["{ONCALL}"]',
                'handoff = "mon 09:00"',
                "[environments.production]",
                f"path = {toml_value(str(root / 'hosts' / 'production'))}",
                'hosts = ["local"]',
                f"after_activate = {toml_value([wait])}",
            ]
        )
        self.server = AndonServer(
            root / "andon", database_url=database_url, slack=slack, config=config + "\n"
        ).start()

    def slash(
        self,
        command: str,
        text: str,
        *,
        user: str = "U0MARIA",
        name: str = "maria",
        retry_num: int | None = None,
        before: Callable[[], None] = lambda: None,
    ) -> requests.Response:
        body, kind = slash_command(
            command, text, user=user, name=name, response_url=self.slack.response_url("race")
        )
        before()
        return self.server.slack_post(body, kind, retry_num=retry_num)

    def said(self, command: str, text: str, **who: str) -> str:
        answer = self.slash(command, text, **who)  # type: ignore[arg-type]
        assert answer.status_code == 200, answer.text
        return answer.json()["text"]

    def running(self) -> None:
        """The line runs (an admin forces it when it is stopped)."""
        if self.api("/api/line")["state"] == "stopped":
            assert "already" not in self.said("/line", "start force next race")
        assert self.api("/api/line")["state"] == "running"

    def api(self, path: str) -> Any:
        answer = self.server.api(path)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def audit(self, action: str, where: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        entries = self.api("/api/audit?limit=1000")["entries"]
        return [e for e in entries if e["action"] == action and where(e)]

    def stoppage(self, stoppage_id: int) -> dict[str, Any] | None:
        answer = self.server.api(f"/api/stoppages/{stoppage_id}")
        if answer.status_code == 404:
            return None
        assert answer.status_code == 200, answer.text
        return answer.json()

    def newest_stoppage(self) -> dict[str, Any]:
        """The stoppage with the highest id (ids only grow)."""
        found, probe = None, 1
        while (next_one := self.stoppage(probe)) is not None:
            found, probe = next_one, probe + 1
        assert found is not None, "no stoppage at all"
        return found

    def ci(self, payload: dict[str, Any], **headers: str) -> requests.Response:
        provider = "github" if headers else "generic"
        return post(self.server, provider, payload, headers=headers or None)

    def alert(self, payload: dict[str, Any]) -> requests.Response:
        body = json.dumps(payload).encode()
        return requests.post(
            f"{self.server.url}/hooks/alerts/generic",
            data=body,
            headers={"Content-Type": "application/json", "X-Andon-Signature": signature(body)},
            timeout=10,
        )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def line(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack
) -> Iterator[Line]:
    root = tmp_path_factory.mktemp(f"races-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{root / 'andon.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database(f"races_{root.name}")
    running = Line(root, slack=fake_slack, database_url=url)
    yield running
    running.gate.touch()
    running.server.stop()


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; their results in call order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return results


# --- concurrent commands ---------------------------------------------------------------------


def test_fifty_concurrent_stops_open_one_stoppage_and_every_stop_is_audited(line: Line) -> None:
    line.running()
    tag = sha()[:6]
    answers = at_once(
        *(
            (lambda i=i: line.said("/line", f"stop {tag} {i}", user=f"U0R{i:03d}", name=f"r{i}"))
            for i in range(STOPS)
        )
    )
    opened = [a for a in answers if a.startswith("You stopped the line")]
    joined = [a for a in answers if a.startswith("The line was already stopped")]
    assert len(opened) == 1 and len(joined) == STOPS - 1, answers
    stoppage = line.api("/api/line")["stoppage"]
    assert f"stoppage #{stoppage['id']}" in opened[0]
    assert all(f"stoppage #{stoppage['id']} as another cause" in a for a in joined)
    assert sorted(c["text"] for c in stoppage["causes"]) == sorted(
        f"{tag} {i}" for i in range(STOPS)
    )
    assert line.stoppage(stoppage["id"] + 1) is None  # no second stoppage
    stops = line.audit("line.stop", lambda e: e["detail"].startswith(tag))
    assert len(stops) == STOPS and {e["outcome"] for e in stops} == {"ok"}
    assert sorted(e["message"] for e in stops) == ["cause added"] * (STOPS - 1) + [
        f"stoppage #{stoppage['id']}"
    ]


def test_two_concurrent_deploys_one_runs_and_the_other_is_told_why(line: Line) -> None:
    line.running()
    revision = line.app.commit("race", {"app.py": f"print({sha()!r})\n"})
    assert line.ci(generic(revision, "passed", run_id=revision[:8])).status_code == 200
    before = len(line.api("/api/deploys")["deploys"])
    maria, ana = at_once(
        lambda: line.said("/deploy", ""),
        lambda: line.said("/deploy", "", user="U0ANA", name="ana"),
    )
    won = [a for a in (maria, ana) if a.startswith("Deploying")]
    lost = [a for a in (maria, ana) if "in progress" in a]
    assert len(won) == 1 and len(lost) == 1, (maria, ana)
    winner = "maria" if won[0] == maria else "ana"
    assert f"deploy of {revision[:7]} to production by @{winner} in progress" in lost[0]
    deploys = line.api("/api/deploys")["deploys"]
    assert len(deploys) == before + 1 and deploys[0]["status"] in UNFINISHED
    loser = "ana" if winner == "maria" else "maria"
    refused = line.audit(
        "deploy", lambda e: e["actor"]["name"] == loser and revision[:7] in e["detail"]
    )
    assert [e["outcome"] for e in refused] == ["refused"]
    line.gate.touch()
    newest = newest_ended(lambda: line.api("/api/deploys")["deploys"], timeout=30)
    assert newest["status"] == "succeeded" and newest["requested_by"]["name"] == winner
    line.gate.unlink()


def test_line_start_racing_a_red_build_leaves_the_line_consistent(line: Line) -> None:
    orders = {"start then red": 0, "red then start": 0}
    for race in range(START_RACES):
        line.running()
        assert line.said("/line", f"stop start-race {race}").startswith("You stopped")
        before = line.api("/api/line")["stoppage"]["id"]
        revision = sha()
        started, red = at_once(
            lambda race=race: line.said("/line", f"start force race {race}"),
            lambda race=race, rev=revision: line.ci(generic(rev, "failed", run_id=f"race-{race}")),
        )
        assert started.startswith("You started the line"), started
        assert red.status_code == 200 and red.json()["stopped_line"] is True, red.text
        now = line.api("/api/line")
        newest = line.newest_stoppage()
        red_cause = f"CI failed on {revision[:7]}"
        first = line.stoppage(before)
        assert first is not None and first["state"] == "closed"
        if now["state"] == "stopped":  # the start came first; the red build stopped it again
            orders["start then red"] += 1
            assert newest["id"] == before + 1 and newest["state"] == "open"
            assert now["stoppage"]["id"] == newest["id"]
            assert [c["text"] for c in newest["causes"]] == [red_cause]
        else:  # the red build joined the open stoppage, then the start closed it
            orders["red then start"] += 1
            assert newest["id"] == before and now["stoppage"] is None
            assert red_cause in [c["text"] for c in first["causes"]]
        assert now["state"] == ("stopped" if newest["state"] == "open" else "running")
        starts = line.audit("line.start", lambda e, race=race: e["detail"] == f"force: race {race}")
        assert [e["outcome"] for e in starts] == ["ok"]
        assert len(line.audit("ci.result", lambda e, rev=revision: rev[:7] in e["detail"])) == 1
        assert len(line.audit("line.stop", lambda e, cause=red_cause: e["detail"] == cause)) == 1
    print(f"start/red-build orders seen: {orders}")


# --- Slack retries and webhook redeliveries ----------------------------------------------------


def test_a_retried_slash_command_is_one_command(line: Line) -> None:
    line.running()
    tag = f"retried {sha()[:6]}"
    body, kind = slash_command(
        "/line", f"stop {tag}", user="U0MARIA", name="maria", response_url=line.slack.response_url()
    )
    first = line.server.slack_post(body, kind)
    again = line.server.slack_post(body, kind, retry_num=1)
    assert first.status_code == 200 and again.status_code == 200
    assert first.json()["text"].startswith("You stopped the line")
    assert len(line.audit("line.stop", lambda e: e["detail"] == tag)) == 1
    assert [c["text"] for c in line.api("/api/line")["stoppage"]["causes"]] == [tag]


def test_two_retries_at_once_of_a_lost_slash_command_are_one_command(line: Line) -> None:
    """The first send never reached Andon; Slack's retries then arrive while one still runs."""
    line.running()
    tag = f"retried at once {sha()[:6]}"
    body, kind = slash_command(
        "/line", f"stop {tag}", user="U0MARIA", name="maria", response_url=line.slack.response_url()
    )
    answers = at_once(
        lambda: line.server.slack_post(body, kind, retry_num=1),
        lambda: line.server.slack_post(body, kind, retry_num=2),
    )
    assert [a.status_code for a in answers] == [200] * 2
    assert len(line.audit("line.stop", lambda e: e["detail"] == tag)) == 1


def test_a_retried_button_press_is_one_press(line: Line) -> None:
    line.running()
    line.said("/line", f"stop press {sha()[:6]}")
    presser = f"U0P{sha()[:6].upper()}"
    answered = line.slack.response_url(f"press-{presser}")
    body, kind = block_action("line_start", "", user=presser, name="presser", response_url=answered)
    answers = at_once(  # the first send was lost; two retries come at once, then a third
        lambda: line.server.slack_post(body, kind, retry_num=1),
        lambda: line.server.slack_post(body, kind, retry_num=2),
    )
    answers.append(line.server.slack_post(body, kind, retry_num=3))
    assert [a.status_code for a in answers] == [200] * 3
    line.slack.wait_for("response_url", lambda p: "five whys" in p.get("text", "").lower())
    # a later press by someone else is answered: any retry would have been handled by then
    marker = line.slack.response_url(f"marker-{presser}")
    body2, _ = block_action("line_start", "", user="U0LATER", name="later", response_url=marker)
    assert line.server.slack_post(body2, kind).status_code == 200
    eventually(
        lambda: line.audit("line.start", lambda e: e["actor"]["id"] == "U0LATER"),
        what="the marker press handled",
    )
    presses = line.audit("line.start", lambda e: e["actor"]["id"] == presser)
    assert [e["outcome"] for e in presses] == ["refused"]  # the five whys is not done: refused


def test_an_event_and_its_retry_at_once_are_heard_once(line: Line) -> None:
    line.running()
    line.said("/line", f"stop whys {sha()[:6]}")
    thread = line.server.open_stoppage()["thread_ts"]
    event_id = f"Ev{sha()[:10].upper()}"
    body, kind = thread_reply(
        "because the payment mock was off", user="U0MARIA", thread_ts=thread, event_id=event_id
    )
    answers = at_once(
        lambda: line.server.slack_post(body, kind),
        lambda: line.server.slack_post(body, kind, retry_num=1),
    )
    assert [a.status_code for a in answers] == [200, 200]
    line.slack.wait_for(
        "chat.postMessage", lambda p: p.get("thread_ts") == thread and p["text"].startswith("Why 2")
    )
    second, _ = thread_reply(
        "because a new dependency", user="U0MARIA", thread_ts=thread, event_id=event_id + "B"
    )
    assert line.server.slack_post(second, kind).status_code == 200
    line.slack.wait_for(
        "chat.postMessage", lambda p: p.get("thread_ts") == thread and p["text"].startswith("Why 3")
    )
    questions = [
        c.params["text"].split(":")[0]
        for c in line.slack.calls("chat.postMessage")
        if c.params.get("thread_ts") == thread and c.params["text"].startswith("Why ")
    ]
    assert questions == ["Why 2", "Why 3"], questions


def test_ci_redeliveries_at_once_record_one_result(line: Line) -> None:
    line.running()
    revision = sha()
    payload = generic(revision, "failed", run_id="redelivered", failed_tests=["t::x"])
    answers = at_once(*([lambda: line.ci(payload)] * 4))
    bodies = [a.json() for a in answers]
    assert sum(b.get("duplicate") is True for b in bodies) == 3, bodies
    run = json.loads(
        (Path(__file__).parent / "fixtures" / "github" / "workflow_run.completed.json").read_text()
    )
    red = sha()
    run["workflow_run"].update(head_sha=red, head_branch="main", conclusion="failure")
    headers = {"X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": f"delivery-{red}"}
    hub = [a.json() for a in at_once(*([lambda: line.ci(run, **headers)] * 4))]
    assert sum(b.get("duplicate") is True for b in hub) == 3, hub
    for rev in (revision, red):
        assert len(line.audit("ci.result", lambda e, rev=rev: rev[:7] in e["detail"])) == 1
    causes = [c["text"] for c in line.api("/api/line")["stoppage"]["causes"]]
    assert causes.count(f"CI failed on {revision[:7]}") == 1
    assert causes.count(f"CI failed on {red[:7]}") == 1


def test_alert_redeliveries_at_once_are_one_page(line: Line) -> None:
    line.running()
    name = f"signups_low_{sha()[:6]}"
    alert = {"name": name, "status": "firing", "summary": f"{name} is off", "fingerprint": name}
    answers = at_once(*([lambda: line.alert(alert)] * 4))
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    answers.append(line.alert(alert))  # and once more, later, as Alertmanager re-sends a group
    assert sum(a.json()["paged"] for a in answers) == 1, [a.json() for a in answers]
    pages = [p for p in line.api("/api/pages")["pages"] if name in json.dumps(p)]
    assert len(pages) == 1
    causes = [c["text"] for c in line.api("/api/line")["stoppage"]["causes"]]
    assert sum(name in c for c in causes) == 1, causes
    marker = f"marker_{sha()[:6]}"
    line.alert({"name": marker, "status": "firing", "summary": f"{marker} is off"})
    dm = "D" + ONCALL[1:]
    line.slack.wait_for(
        "chat.postMessage", lambda p: p["channel"] == dm and marker in json.dumps(p)
    )
    paged = [
        c
        for c in line.slack.calls("chat.postMessage")
        if c.params["channel"] == dm and name in json.dumps(c.params)
    ]
    assert len(paged) == 1
