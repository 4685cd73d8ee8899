"""A flag ramp under watch, end to end: ``/flag ramp`` typed in Slack to a running ``andon serve``
whose production environment watches ``checkout_rate``, read from a real metric endpoint. The
endpoint plays the application: it asks Andon over OFREP what the flag is at, and checkout falls
by half once more than 30% of users get the new path. What the channel, the person paged and an
OpenFeature evaluation see is asserted."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, DEFAULT_CONFIG, AndonServer
from tests.metric_endpoint import MetricEndpoint
from tests.postgres import PostgresCluster
from tests.slack_requests import slash_command

FLAGS_TOKEN = "test-flags-token-5c1e22"
ONCALL = "U0ONCALL"
STEADY, HALVED = 20.0, 10.0


class App:
    """The application behind the metric: which flag it ships, evaluated as it would be."""

    def __init__(self) -> None:
        self.url = ""
        self.key = "none"
        self.breaks_above = 30  # checkout falls once more users than this get the new path
        self.last = 0

    def percentage(self) -> int:
        """What Andon answers; while Andon is down, what it answered last (as an OpenFeature
        client with a cache would)."""
        try:
            answer = requests.post(
                f"{self.url}/ofrep/v1/evaluate/flags/{self.key}",
                json={"context": {"environment": "production"}},
                headers={"Authorization": f"Bearer {FLAGS_TOKEN}"},
                timeout=5,
            )
        except requests.ConnectionError:
            return self.last
        found = answer.json()["metadata"]["percentage"] if answer.status_code == 200 else 0
        self.last = int(found)
        return self.last

    def checkout_rate(self, _: str) -> float:
        return HALVED if self.percentage() > self.breaks_above else STEADY


@pytest.fixture(scope="module")
def app() -> App:
    return App()


@pytest.fixture(scope="module")
def endpoint(app: App) -> Iterator[MetricEndpoint]:
    endpoint = MetricEndpoint()
    endpoint.by_path = app.checkout_rate
    yield endpoint
    endpoint.close()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    fake_slack: FakeSlack,
    endpoint: MetricEndpoint,
    app: App,
) -> Iterator[AndonServer]:
    workdir = tmp_path_factory.mktemp("flag-watch")
    running = serving(workdir, fake_slack, endpoint, watch_for="1s")
    running.start()
    app.url = running.url
    yield running
    running.stop()


def serving(
    workdir: Path,
    slack: FakeSlack,
    endpoint: MetricEndpoint,
    *,
    watch_for: str,
    database_url: str | None = None,
) -> AndonServer:
    """``andon serve`` (not yet started) whose production watches ``checkout_rate``."""
    config = DEFAULT_CONFIG + (
        f'[oncall]\nrotation = ["{ONCALL}"]\nrepeat = "1h"\nack_timeout = "1h"\n'
        '[environments.production]\npath = "/srv/app"\nhosts = ["local"]\n'
        f'watch = ["checkout_rate"]\nwatch_for = "{watch_for}"\n'
        '[[checks]]\nname = "checkout_rate"\n'
        f'url = "{endpoint.url}"\njson_path = "signups"\nmax_drop = "20%"\nevery = "1s"\n'
    )
    url = database_url or f"sqlite:///{workdir / 'andon.db'}"
    running = AndonServer(workdir, database_url=url, slack=slack, config=config)
    running.env["ANDON_FLAGS_TOKEN"] = FLAGS_TOKEN
    return running


@pytest.fixture(autouse=True)
def running_line(server: AndonServer, fake_slack: FakeSlack) -> None:
    server.reset()
    fake_slack.forget()


def flag(server: AndonServer, text: str) -> str:
    """``/flag <text>`` typed in Slack: the answer's text."""
    return str(answered(server, text)["text"])


def answered(server: AndonServer, text: str) -> dict[str, Any]:
    body, kind = slash_command(
        "/flag", text, user="U0MARIA", name="maria", response_url=server.slack.response_url()
    )
    answer = server.slack_post(body, kind)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def channel_says(slack: FakeSlack, words: str) -> dict[str, Any]:
    """The ramp's message in the line channel, updated in place, once it says ``words``."""
    found = slack.wait_for(
        "chat.update",
        lambda p: p.get("channel") == CHANNEL and words in p.get("text", ""),
        timeout=30,
    )
    return found[-1].params


def dms(slack: FakeSlack, user: str) -> list[str]:
    channel = "D" + user[1:]
    return [
        c.params["text"] for c in slack.calls("chat.postMessage") if c.params["channel"] == channel
    ]


def test_a_ramp_with_steady_metrics_stays(
    server: AndonServer, fake_slack: FakeSlack, app: App
) -> None:
    app.key = "search.v2"
    flag(server, "create search.v2 the new search")
    answer = flag(server, "ramp search.v2 30%")
    assert answer == (
        "search.v2 goes 0% → 30% in production once the baseline of checkout_rate is read, "
        "then it is watched for 1 s — the channel's message follows it."
    )
    said = channel_says(fake_slack, "watched checkout_rate for 1 s: held")
    assert said["text"].startswith("<@U0MARIA> ramped search.v2 0% → 30% in production")
    assert app.percentage() == 30
    assert server.api("/api/line").json()["state"] == "running"
    assert dms(fake_slack, ONCALL) == []


def test_a_ramp_asked_on_the_command_line_is_watched_by_the_running_server(
    server: AndonServer, fake_slack: FakeSlack, app: App
) -> None:
    app.key = "banner"
    flag(server, "create banner the winter banner")
    ramped = server.cli("flag", "ramp", "banner", "20%", "--as", "dana")
    assert ramped.returncode == 0, ramped.stderr
    assert "banner goes 0% → 20% in production once the baseline" in ramped.stdout
    said = channel_says(fake_slack, "banner 0% → 20% in production — watched checkout_rate")
    assert said["text"].endswith("for 1 s: held")  # claimed by andon serve on its tick
    assert app.percentage() == 20


def test_a_ramp_that_makes_checkout_fall_is_turned_back_the_line_stops_and_oncall_is_paged(
    server: AndonServer, fake_slack: FakeSlack, app: App
) -> None:
    app.key = "checkout.v2"
    flag(server, "create checkout.v2 the one-page checkout")
    flag(server, "ramp checkout.v2 30%")
    channel_says(fake_slack, "checkout.v2 0% → 30% in production — watched")
    assert app.percentage() == 30

    flag(server, "ramp checkout.v2 60")
    said = (
        "checkout_rate fell 50% below the baseline after `checkout.v2` ramped 30% → 60%: "
        "turned back to 30%"
    )
    message = channel_says(fake_slack, said.replace("`", ""))
    assert "the line is stopped and on-call is paged" in message["text"]
    assert app.percentage() == 30  # what applications get: the previous percentage
    line = server.api("/api/line").json()
    assert line["state"] == "stopped"
    assert line["stoppage"]["causes"][0]["text"] == said
    fake_slack.wait_for("chat.postMessage", lambda p: p.get("channel") == "D" + ONCALL[1:])
    page = dms(fake_slack, ONCALL)[0]
    assert page.startswith("checkout_rate (critical) — page #")
    assert said in page
    shown = json.dumps(answered(server, "show checkout.v2")["blocks"], ensure_ascii=False)
    assert "*production*: 30% — set by *watch*" in shown


def test_a_ramp_mid_watch_when_andon_is_killed_is_watched_on_by_the_next_start(
    tmp_path: Path,
    fake_slack: FakeSlack,
    endpoint: MetricEndpoint,
    app: App,
    server: AndonServer,
    postgres: PostgresCluster,
) -> None:
    """On PostgreSQL (the module's other scenarios run on SQLite): a kill leaves the watch
    held by a process that is gone; the next start resumes it against its stored baseline."""
    database = postgres.create_database("andon_flag_watch_killed")
    crashing = serving(
        tmp_path, fake_slack, endpoint, watch_for="10m", database_url=database
    ).start()
    app.url, app.key, app.breaks_above = crashing.url, "cart.v2", 100
    try:
        flag(crashing, "create cart.v2 the new cart")
        flag(crashing, "ramp cart.v2 60%")
        channel_says(fake_slack, "— watching checkout_rate for 10 min")
        crashing.process.kill()  # mid-watch: the ramp is live, its baseline on record
        crashing.process.wait()
        app.breaks_above = 30  # the new cart hurts checkout after all
        crashing.start()  # the next start resumes the watch against the stored baseline
        said = "checkout_rate fell 50% below the baseline after cart.v2 ramped 0% → 60%"
        channel_says(fake_slack, f"{said}: turned back to 0%")
        assert app.percentage() == 0
    finally:
        crashing.stop()
        app.url, app.breaks_above = server.url, 30
