"""The real Alertmanager (Debian's ``prometheus-alertmanager``) delivering to a running Andon:
its webhook receiver with bearer and with basic auth, a receiver with the wrong secret, and its
PagerDuty sender pointed at ``/hooks/alerts/pagerduty``. Alerts go in through Alertmanager's own
API (``/api/v2/alerts``); what the person on call reads in the fake Slack is asserted."""

from collections.abc import Iterator

import pytest

from tests.conformance.alertmanager import Alertmanager
from tests.conformance.conftest import ONCALL, causes, deliveries, dms, edits
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, WEBHOOK_SECRET, AndonServer
from tests.waiting import eventually

CONFIG = f"""
[slack]
channel = "{CHANNEL}"
[oncall]
rotation = ["{ONCALL}"]
repeat = "1h"
ack_timeout = "2h"
"""
WAIT = 30.0  # Alertmanager waits group_wait (1 s) and ticks every group_interval (1 s)


def receivers(andon: str) -> list[dict]:
    """One receiver per way of authenticating, as docs/alerts.md shows them."""
    hook = f"{andon}/hooks/alerts/alertmanager"
    return [
        {
            "name": "bearer",
            "webhook_configs": [
                {
                    "url": hook,
                    "send_resolved": True,
                    "http_config": {
                        "authorization": {"type": "Bearer", "credentials": WEBHOOK_SECRET}
                    },
                }
            ],
        },
        {
            "name": "basic",
            "webhook_configs": [
                {
                    "url": hook,
                    "http_config": {
                        "basic_auth": {"username": "alertmanager", "password": WEBHOOK_SECRET}
                    },
                }
            ],
        },
        {
            "name": "wrong",
            "webhook_configs": [
                {
                    "url": hook,
                    "http_config": {
                        "authorization": {"type": "Bearer", "credentials": "not-the-secret"}
                    },
                }
            ],
        },
        {
            "name": "pagerduty",
            "pagerduty_configs": [
                {"routing_key": WEBHOOK_SECRET, "url": f"{andon}/hooks/alerts/pagerduty"}
            ],
        },
    ]


def config(andon: str) -> dict:
    return {
        "route": {
            "receiver": "bearer",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "2s",  # the group is sent again while it fires
            "routes": [
                {"matchers": [f'via="{name}"'], "receiver": name}
                for name in ("basic", "wrong", "pagerduty")
            ],
        },
        "receivers": receivers(andon),
    }


@pytest.fixture(scope="module")
def andon(tmp_path_factory: pytest.TempPathFactory, slack: FakeSlack) -> Iterator[AndonServer]:
    workdir = tmp_path_factory.mktemp("andon")
    server = AndonServer(
        workdir, database_url=f"sqlite:///{workdir / 'andon.db'}", slack=slack, config=CONFIG
    )
    yield server.start()
    server.stop()


@pytest.fixture(scope="module")
def alertmanager(
    tmp_path_factory: pytest.TempPathFactory, andon: AndonServer
) -> Iterator[Alertmanager]:
    running = Alertmanager(tmp_path_factory.mktemp("alertmanager"), config=config(andon.url))
    yield running
    running.stop()


@pytest.mark.parametrize("via", ["bearer", "basic"])
def test_a_group_pages_once_stops_the_line_grows_and_resolves(
    via: str, alertmanager: Alertmanager, andon: AndonServer, slack: FakeSlack
) -> None:
    name = f"CheckoutDown{via.title()}"
    web1 = {"alertname": name, "via": via, "severity": "critical", "instance": "web1"}
    web2 = {**web1, "instance": "web2"}

    alertmanager.fire(web1, summary="Checkout answers 500 on web1")

    page = eventually(
        lambda: dms(slack, name), timeout=WAIT, every=0.1, what=f"a page DM for {name}"
    )
    assert page[0]["text"].startswith(f"{name} (critical) — page #")
    assert "Checkout answers 500 on web1" in page[0]["text"]
    assert f"page: {name} — Checkout answers 500 on web1" in causes(andon)

    seen = deliveries(andon, "alertmanager", name)
    eventually(
        lambda: deliveries(andon, "alertmanager", name) > seen,
        timeout=WAIT,
        every=0.1,
        what=f"Alertmanager sending {name} again",
    )
    assert len(dms(slack, name)) == 1 and edits(slack, name) == []  # a repeat is nothing new

    alertmanager.fire(web2, summary="Checkout answers 500 on web2")

    grown = eventually(
        lambda: [text for text in edits(slack, name) if "2 alerts firing" in text],
        timeout=WAIT,
        every=0.1,
        what=f"{name}'s DM edited for the second alert",
    )
    assert grown[0].startswith(f"{name} (critical) — page #")
    assert len(dms(slack, name)) == 1  # joined the page, no second DM

    alertmanager.resolve(web1, summary="Checkout answers 500 on web1")
    alertmanager.resolve(web2, summary="Checkout answers 500 on web2")

    resolved = eventually(
        lambda: [text for text in edits(slack, name) if "resolved" in text.lower()],
        timeout=WAIT,
        every=0.1,
        what=f"{name}'s DM edited to resolved",
    )
    assert name in resolved[-1]
    assert len(dms(slack, name)) == 1


def test_a_wrong_secret_is_refused_and_alertmanager_logs_the_401(
    alertmanager: Alertmanager, andon: AndonServer, slack: FakeSlack
) -> None:
    alertmanager.fire({"alertname": "WrongSecret", "via": "wrong"}, summary="never paged")

    logged = eventually(
        lambda: [line for line in alertmanager.log().splitlines() if "status code 401" in line],
        timeout=WAIT,
        every=0.1,
        what="Alertmanager logging the refusal",
    )
    assert "wrong/webhook" in logged[0]
    assert "missing or wrong webhook signature or token" in logged[0]  # Andon's answer, shown
    assert WEBHOOK_SECRET not in alertmanager.log()
    assert dms(slack, "WrongSecret") == []
    assert deliveries(andon, "alertmanager", "WrongSecret") == 0


def test_its_pagerduty_sender_pages_and_resolves_through_the_pagerduty_door(
    alertmanager: Alertmanager, andon: AndonServer, slack: FakeSlack
) -> None:
    labels = {"alertname": "QueueStuck", "via": "pagerduty", "severity": "critical"}
    alertmanager.fire(labels, summary="The orders queue has not moved for 10 min")

    page = eventually(
        lambda: dms(slack, "QueueStuck"),
        timeout=WAIT,
        every=0.1,
        what="a page DM from the PagerDuty sender",
    )
    assert "page #" in page[0]["text"]
    assert any("QueueStuck" in cause for cause in causes(andon))

    alertmanager.resolve(labels, summary="The orders queue has not moved for 10 min")

    eventually(
        lambda: [text for text in edits(slack, "QueueStuck") if "resolved" in text.lower()],
        timeout=WAIT,
        every=0.1,
        what="the PagerDuty page's DM edited to resolved",
    )
    assert len(dms(slack, "QueueStuck")) == 1
