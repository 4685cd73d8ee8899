"""PagerDuty's own Python clients — ``pdpyras`` (``EventsAPISession``) and ``pagerduty``
(``EventsApiV2Client``) — given the base URL docs/alerts.md gives,
``<andon>/hooks/alerts/pagerduty``, and the webhook secret as routing key: trigger, the same
trigger again, acknowledge, resolve. Both append ``/v2/enqueue`` to the base URL. The
``pagerduty`` client refuses plain HTTP, so it talks to Andon through a TLS terminator, as it
would behind a load balancer."""

import importlib
import json
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import pytest

from tests.conformance.conftest import ONCALL, causes, dms, edits
from tests.conformance.tls import TlsTerminator
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
NO_ENQUEUE = "/hooks/alerts/pagerduty/v2/enqueue is not served yet: the clients append it"


class Events(Protocol):
    def trigger(self, summary: str, source: str) -> str: ...
    def acknowledge(self, dedup_key: str) -> str: ...
    def resolve(self, dedup_key: str) -> str: ...


def installed(name: str) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pdpyras says it is deprecated in favour of pagerduty
            return importlib.import_module(name)
    except ImportError:
        pytest.skip(f"{name} is not installed (pip install -e '.[conformance]')")


@pytest.fixture(scope="module")
def andon(tmp_path_factory: pytest.TempPathFactory, slack: FakeSlack) -> Iterator[AndonServer]:
    workdir = tmp_path_factory.mktemp("andon")
    server = AndonServer(
        workdir, database_url=f"sqlite:///{workdir / 'andon.db'}", slack=slack, config=CONFIG
    )
    yield server.start()
    server.stop()


@pytest.fixture(scope="module")
def https(tmp_path_factory: pytest.TempPathFactory, andon: AndonServer) -> Iterator[TlsTerminator]:
    port = int(andon.url.rsplit(":", 1)[1])
    terminator = TlsTerminator(tmp_path_factory.mktemp("tls"), target=port)
    yield terminator
    terminator.stop()


def pdpyras_session(andon: AndonServer, _https: TlsTerminator) -> tuple[Events, type[Exception]]:
    pdpyras = installed("pdpyras")
    session = pdpyras.EventsAPISession(WEBHOOK_SECRET)
    session.url = f"{andon.url}/hooks/alerts/pagerduty"  # the base URL docs/alerts.md gives
    return session, pdpyras.PDHTTPError


def pagerduty_client(andon: AndonServer, https: TlsTerminator) -> tuple[Events, type[Exception]]:
    pagerduty = installed("pagerduty")
    client = pagerduty.EventsApiV2Client(
        WEBHOOK_SECRET,
        base_url=f"{https.url}/hooks/alerts/pagerduty",
        verify=https.client_context(),
    )
    return client, pagerduty.HttpError


CLIENTS: dict[str, Callable[[AndonServer, TlsTerminator], tuple[Events, type[Exception]]]] = {
    "pdpyras": pdpyras_session,
    "pagerduty": pagerduty_client,
}


@pytest.mark.parametrize("client", CLIENTS)
def test_a_client_triggers_repeats_acknowledges_and_resolves_a_page(
    client: str, andon: AndonServer, https: TlsTerminator, slack: FakeSlack
) -> None:
    events, http_error = CLIENTS[client](andon, https)
    summary = f"Payments via {client} time out"
    source = f"payments-{client}"

    try:
        key = events.trigger(summary, source)
    except http_error as error:
        if getattr(error, "response", None) is not None and error.response.status_code == 404:
            pytest.xfail(NO_ENQUEUE)
        raise

    page = eventually(
        lambda: dms(slack, summary), timeout=30, every=0.1, what=f"a page DM for {summary!r}"
    )
    assert "page #" in page[0]["text"] and source in json.dumps(page[0])
    assert any(summary in cause for cause in causes(andon))

    assert events.trigger(summary, source) == key  # the same problem again: the same alert
    assert events.acknowledge(key) == key  # answered; pages are acknowledged in Slack
    assert len(dms(slack, summary)) == 1

    assert events.resolve(key) == key
    resolved = eventually(
        lambda: (
            [text for text in edits(slack, summary) if "resolved" in text.lower()]
            or [text for text in edits(slack, source) if "resolved" in text.lower()]
        ),
        timeout=30,
        every=0.1,
        what=f"the page DM for {summary!r} edited to resolved",
    )
    assert resolved
    assert len(dms(slack, summary)) == 1
