"""The immune system: a deploy watches the business metrics it names and reverts what hurts them.

Real OpenSSH hosts on loopback, a running ``andon serve``, and a real metric endpoint whose value
each host's copy of ``signups`` takes from what that host runs: a release that carries
``SIGNUPS_FALL`` halves signups wherever it runs; one that carries ``FLEET_DIP`` halves them on
every host while it runs on the canary alone — a dip of the whole fleet, not of the release.
``errors``, read once for the whole fleet, rises tenfold once every host runs ``ERRORS_RISE``.
"""

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy_line import DeployLine, newest_ended
from tests.fakes.slack import FakeSlack
from tests.metric_endpoint import MetricEndpoint
from tests.ssh_hosts import SshFleet

STEADY, HALVED = 20.0, 10.0
ONCALL = "U0ONCALL"
ERRORS, TENFOLD = 1.0, 11.0


def runs(fleet: SshFleet, index: int, marker: str) -> bool:
    """Whether the host's live release carries the marker file."""
    return (Path(fleet.hosts[index].path) / "current" / marker).exists()


def served(fleet: SshFleet, path: str) -> float:
    """``/errors.json`` for the whole fleet, ``/hosts/<ssh port>.json`` for one host's signups."""
    if path == "/errors.json":
        everywhere = all(runs(fleet, host.index, "ERRORS_RISE") for host in fleet.hosts)
        return TENFOLD if everywhere else ERRORS
    port = int(re.fullmatch(r"/hosts/(\d+)\.json", path)[1])  # type: ignore[index]
    index = next(host.index for host in fleet.hosts if host.port == port)
    if runs(fleet, index, "SIGNUPS_FALL"):
        return HALVED
    fleet_dip = runs(fleet, 0, "FLEET_DIP") and not runs(fleet, 1, "FLEET_DIP")
    return HALVED if fleet_dip else STEADY


@pytest.fixture
def endpoint(fleet: SshFleet) -> Iterator[MetricEndpoint]:
    endpoint = MetricEndpoint()
    endpoint.by_path = lambda path: served(fleet, path)
    yield endpoint
    endpoint.close()


@pytest.fixture
def team(
    tmp_path: Path, fleet: SshFleet, fake_slack: FakeSlack, endpoint: MetricEndpoint
) -> Iterator[DeployLine]:
    check = (
        "[[checks]]\n"
        'name = "signups"\n'
        f'url = "http://127.0.0.1:{endpoint.port}/hosts/{{port}}.json"\n'
        'json_path = "signups"\n'
        'max_drop = "20%"\n'
        "[[checks]]\n"
        'name = "errors"\n'
        f'url = "http://127.0.0.1:{endpoint.port}/errors.json"\n'
        'json_path = "signups"\n'
        'max_rise = "50%"\n'
        f'[oncall]\nrotation = ["{ONCALL}"]\nrepeat = "1h"\nack_timeout = "1h"\n'
    )
    line = DeployLine(
        tmp_path,
        fleet=fleet,
        slack=fake_slack,
        watch=["signups", "errors"],
        watch_for="1s",
        extra=check,
    ).start()
    yield line
    line.stop()


def shown(team: DeployLine, deploy_id: int) -> str:
    return json.dumps([message.get("blocks") for message in team.progress(deploy_id)])


def test_a_canary_that_makes_signups_fall_reverts_every_host_and_stops_the_line(
    team: DeployLine,
) -> None:
    good = team.release("first", {"app.py": "print('v1')\n"})
    team.slash("/deploy", "")
    steady = team.finished()
    assert steady["status"] == "succeeded", steady  # steady metrics: every batch passes its watch
    assert [team.live(i) for i in team.hosts] == [good] * 3
    watched = "signups 20 on the new release, 20 on the rest (baseline 20)"
    assert watched in shown(team, steady["id"])  # the message, while the canary was watched

    bad = team.release("a slower signup form", {"SIGNUPS_FALL": "yes\n"})
    team.slash("/deploy", bad[:7])
    deploy = team.finished()
    said = f"signups fell 50% below the hosts not yet switched during batch 1 of {bad[:7]}"
    assert deploy["status"] == "failed"
    assert deploy["error"] == f"deploy of {bad[:7]} failed: {said}"
    assert [team.live(i) for i in team.hosts] == [good] * 3  # the canary flipped back
    assert [h["step"] for h in deploy["hosts"]] == ["reverted", "staged", "staged"]
    assert team.line()["state"] == "stopped"
    team.slack.wait_for("chat.postMessage", lambda p: said in json.dumps(p))
    dm = "D" + ONCALL[1:]  # on-call is paged by DM, the metric and the release named
    page = team.slack.wait_for(
        "chat.postMessage", lambda p: p["channel"] == dm and "page #" in p["text"]
    )
    assert page[0].params["text"].startswith("signups (critical) — page #1")
    assert said in json.dumps(page[0].params["blocks"])
    assert '"action_id": "page_ack"' in json.dumps(page[0].params["blocks"])
    team.slash("/line", "start force fixed")
    refused = team.slash("/deploy", bad[:7])
    assert "marked bad" in refused and said in refused


def test_a_fleet_wide_dip_does_not_revert_a_deploy_watched_host_by_host(
    team: DeployLine, endpoint: MetricEndpoint
) -> None:
    revision = team.release("a new footer", {"FLEET_DIP": "yes\n"})
    team.slash("/deploy", "")
    deploy = team.finished()
    assert deploy["status"] == "succeeded", deploy
    assert [team.live(i) for i in team.hosts] == [revision] * 3
    assert HALVED in [value for _, value in endpoint.served]  # the dip was seen, on every host
    assert team.line()["state"] == "running"


def test_a_fleet_wide_metric_is_judged_against_the_baseline_after_the_last_batch(
    team: DeployLine,
) -> None:
    good = team.release("first", {"app.py": "print('v1')\n"})
    team.slash("/deploy", "")
    assert team.finished()["status"] == "succeeded"
    bad = team.release("retries every payment", {"ERRORS_RISE": "yes\n"})
    team.slash("/deploy", bad[:7])
    deploy = newest_ended(team.deploys, count=2)
    said = f"errors rose 1000% above the baseline during batch 2 of {bad[:7]}"
    assert deploy["error"] == f"deploy of {bad[:7]} failed: {said}"
    assert [team.live(i) for i in team.hosts] == [good] * 3  # all three flipped back
    assert [h["step"] for h in deploy["hosts"]] == ["reverted"] * 3
    assert said in team.line()["stoppage"]["causes"][0]["text"]


def test_a_baseline_that_cannot_be_read_fails_the_deploy_before_anything_goes_live(
    team: DeployLine, endpoint: MetricEndpoint
) -> None:
    endpoint.close()  # the metrics are down: nothing could be watched
    revision = team.release("first", {"app.py": "print('v1')\n"})
    team.slash("/deploy", "")
    deploy = team.finished()
    assert deploy["status"] == "failed"
    error = deploy["error"]
    assert error.startswith(f"deploy of {revision[:7]} failed: the baseline could not be read (")
    assert "signups: " in error and "could not be reached: Connection refused" in error
    assert error.endswith("; nothing went live")
    assert [team.live(i) for i in team.hosts] == [None] * 3
    assert team.line()["state"] == "running"  # nothing is known to be wrong with the line
