"""The line through Slack: signed requests to a running ``andon serve``; the fake Slack listens."""

import json
import time
from collections.abc import Iterator

import pytest

from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.harness import API_TOKEN, CHANNEL, WEBHOOK_SECRET, AndonServer, slack_server
from tests.slack_requests import SIGNING_SECRET, block_action, signed_headers, slash_command


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack
) -> Iterator[AndonServer]:
    running = slack_server(tmp_path_factory.mktemp("slack-line"), fake_slack)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def running_line(server: AndonServer, fake_slack: FakeSlack) -> None:
    """Each scenario starts on a running line and a quiet fake Slack."""
    server.reset()
    fake_slack.forget()


def _line(server: AndonServer, text: str, *, user: str = "U0MARIA", name: str = "maria") -> dict:
    body, kind = slash_command(
        "/line", text, user=user, name=name, response_url=server.slack.response_url("line")
    )
    answer = server.slack_post(body, kind)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _slash(server: AndonServer, command: str, text: str) -> dict:
    body, kind = slash_command(
        command, text, user="U0MARIA", name="maria", response_url=server.slack.response_url()
    )
    answer = server.slack_post(body, kind)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _in_channel(fake: FakeSlack, text: str) -> dict:
    return fake.wait_for(
        "chat.postMessage", lambda p: p.get("channel") == CHANNEL and text in p.get("text", "")
    )[-1].params


def test_stop_announces_in_the_channel_and_opens_the_thread(
    server: AndonServer, fake_slack: FakeSlack
) -> None:
    answer = _line(server, "stop CI is red on main")
    assert answer["response_type"] == "ephemeral"
    assert "You stopped the line" in answer["text"]

    announcement = _in_channel(fake_slack, "Line stopped by maria: CI is red on main")
    shown = json.dumps(announcement["blocks"])
    assert "<@U0MARIA>" in shown and "CI is red on main" in shown
    # the five whys rule would refuse a start now: no button, but what lets it start
    assert "Start the line" not in shown and "/whys schedule tomorrow 10:00" in shown
    thread = fake_slack.wait_for("chat.postMessage", lambda p: p.get("thread_ts") is not None)
    assert "five whys" in json.dumps(thread[-1].params["blocks"])
    assert thread[-1].params["channel"] == CHANNEL


def test_the_thread_hangs_under_the_announcement(
    server: AndonServer, fake_slack: FakeSlack
) -> None:
    _line(server, "stop deploy broke sign-up")
    _in_channel(fake_slack, "deploy broke sign-up")
    stoppage = server.open_stoppage()
    thread = fake_slack.wait_for("chat.postMessage", lambda p: p.get("thread_ts") is not None)
    assert thread[-1].params["thread_ts"] == stoppage["thread_ts"]


def test_a_second_stop_adds_a_cause_in_the_thread(
    server: AndonServer, fake_slack: FakeSlack
) -> None:
    _line(server, "stop CI is red")
    answer = _line(server, "stop the disk is full", user="U0BOB", name="bob")
    assert "already stopped" in answer["text"] and "another cause" in answer["text"]
    added = fake_slack.wait_for("chat.postMessage", lambda p: "added a cause" in p.get("text", ""))
    assert added[-1].params["thread_ts"] == server.open_stoppage()["thread_ts"]
    assert [c["text"] for c in server.open_stoppage()["causes"]] == [
        "CI is red",
        "the disk is full",
    ]


def test_status_shows_who_stopped_it_since_when_and_why(server: AndonServer) -> None:
    _line(server, "stop flaky integration tests")
    answer = _line(server, "status", user="U0BOB", name="bob")
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("The line has been stopped since")
    shown = json.dumps(answer["blocks"])
    assert "<@U0MARIA>" in shown and "flaky integration tests" in shown
    assert f"Stoppage #{server.open_stoppage()['id']}" in shown


def test_status_of_a_running_line(server: AndonServer) -> None:
    answer = _line(server, "status")
    assert answer["text"].startswith("The line has been running since")


def test_the_start_button_restarts_the_line_and_updates_the_announcement(
    server: AndonServer, fake_slack: FakeSlack
) -> None:
    _line(server, "stop smoke test failed")
    stoppage = server.open_stoppage()
    _slash(server, "/whys", "schedule in 1h")  # the rule: a five whys done or scheduled first
    body, kind = block_action(
        "line_start",
        str(stoppage["id"]),
        user="U0BOB",
        name="bob",
        response_url=fake_slack.response_url("button"),
        message_ts=stoppage["thread_ts"],
    )
    assert server.slack_post(body, kind).status_code == 200

    said = fake_slack.wait_for(
        "response_url", lambda p: "You started the line" in p.get("text", "")
    )
    assert said[-1].params["response_type"] == "ephemeral"
    started = _in_channel(fake_slack, "Line running again")
    assert "<@U0BOB>" in json.dumps(started["blocks"])

    # the announcement was updated when the meeting was booked (it may start now), then again
    def restarted(p: dict) -> bool:
        return p.get("ts") == stoppage["thread_ts"] and "Restarted by" in json.dumps(p["blocks"])

    fake_slack.wait_for("chat.update", restarted)
    assert server.api("/api/line").json()["state"] == "running"


def test_start_on_a_running_line_is_refused_with_a_reason(server: AndonServer) -> None:
    answer = _line(server, "start")
    assert "already running" in answer["text"]


def test_a_stop_without_a_reason_asks_for_one(server: AndonServer) -> None:
    answer = _line(server, "stop")
    assert "Say why" in answer["text"]
    assert server.api("/api/line").json()["state"] == "running"


def test_an_unknown_subcommand_gets_help(server: AndonServer) -> None:
    answer = _line(server, "launch rockets")
    assert "I don't know `/line launch rockets`" in answer["text"]
    # escaped as mrkdwn, so Slack shows "<reason>" rather than reading it as a link
    assert "/line stop &lt;reason&gt;" in json.dumps(answer["blocks"])


def test_a_forged_signature_is_refused_and_changes_nothing(server: AndonServer) -> None:
    before = _audit_size(server)
    body, kind = slash_command(
        "/line", "stop forged", user="U0EVE", name="eve", response_url="http://127.0.0.1:9/r"
    )
    forged = signed_headers(body, secret="not-the-signing-secret")
    assert server.slack_post(body, kind, headers=forged).status_code == 401
    assert server.api("/api/line").json()["state"] == "running"
    assert _audit_size(server) == before


def test_a_stale_request_is_refused(server: AndonServer) -> None:
    body, kind = slash_command(
        "/line", "stop replayed", user="U0EVE", name="eve", response_url="http://127.0.0.1:9/r"
    )
    stale = signed_headers(body, at=int(time.time()) - 6 * 60)
    assert server.slack_post(body, kind, headers=stale).status_code == 401
    assert server.slack_post(body, kind, headers={}).status_code == 401
    assert server.api("/api/line").json()["state"] == "running"


def _audit_size(server: AndonServer) -> int:
    return len(server.api("/api/audit?limit=1000").json()["entries"])


def test_no_secret_reaches_the_log(server: AndonServer) -> None:
    _line(server, "stop checking the log")
    _line(server, "status")
    server.api("/api/line", token="a-wrong-token")
    log = server.log()
    assert "Andon" in log or "serving" in log  # the log is being written at all
    for secret in (BOT_TOKEN, SIGNING_SECRET, API_TOKEN, WEBHOOK_SECRET):
        assert secret not in log


def _slash(server: AndonServer, command: str, text: str) -> dict:
    body, kind = slash_command(
        command, text, user="U0MARIA", name="maria", response_url=server.slack.response_url()
    )
    answer = server.slack_post(body, kind)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_typo_is_answered_with_what_it_most_likely_meant(server: AndonServer) -> None:
    answer = _line(server, "stpo disk full")

    assert (
        answer["text"]
        == "I don't know `/line stpo disk full`. Did you mean `/line stop disk full`?"
    )
    shown = json.dumps(answer["blocks"])
    assert "/line start force" in shown and "/digest" not in shown  # that command's usage only
    assert server.api("/api/line").json()["state"] == "running"


def test_an_override_typed_as_plain_text_asks_for_a_mention(server: AndonServer) -> None:
    answer = _slash(server, "/oncall", "override @maria until fri 18:00")
    assert "Who is @maria? Mention them: type @ and pick them from Slack's list." in answer["text"]


def test_the_help_lists_every_command_and_the_threads_syntax(server: AndonServer) -> None:
    shown = json.dumps(_line(server, "help")["blocks"], ensure_ascii=False)
    for said in (
        "/line start force",
        "/deploy 3f2a9c1 override",
        "/rollback production 3f2a9c1 confirm",
        "/deploy status [env]",
        "`because &lt;answer&gt;`",
        "`edit 2: &lt;text&gt;`",
        "`back`",
        "`3: &lt;action&gt; @owner due fri #tests`",
    ):
        assert said in shown, said
