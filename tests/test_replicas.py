"""Three ``andon serve`` replicas on one PostgreSQL database work as one Andon: requests spread
over them round-robin, as a load balancer would, and what people see in Slack happens once — the
stop, the page, each why of the five whys, the deploy — in order per channel. Then replicas die
(SIGKILL): the one running a deploy, whose deploy another settles and says so, and the one whose
courier holds messages, which the others deliver — the one Slack had already posted found there,
not posted again. Nothing answered 2xx is lost, nothing is said twice."""

from collections.abc import Iterator

import pytest

from core.deploy.lease import TTL
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, AndonServer
from tests.postgres import PostgresCluster
from tests.replicas import ONCALL, Replicas, each_said_once, pending, replicas
from tests.waiting import eventually

WHYS = (
    "the sign-up test called the real payment API",
    "the test has no fake for payments",
    "nobody wrote one when payments came in",
    "adding a dependency has no checklist",
    "we never invested in preventing that",
)
INVESTMENTS = (
    "1: add a contract test for the payment API #tests\n2: write a payments fake for tests\n"
    "3: a new-dependency checklist #process\n4: none: it did what it should\n5: none: fine"
)
TAKE_OVER = 35.0  # seconds: a dead courier's claim (30 s) and a tick


@pytest.fixture(scope="module")
def trio(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresCluster, fake_slack: FakeSlack
) -> Iterator[Replicas]:
    url = postgres.create_database("andon_replicas")
    yield from replicas(tmp_path_factory.mktemp("replicas"), database_url=url, slack=fake_slack)


@pytest.fixture
def slack(trio: Replicas) -> FakeSlack:
    trio.slack.forget()
    return trio.slack


def _ended(trio: Replicas, count: int, timeout: float = 60.0) -> dict:
    def ended() -> dict | None:
        found = trio.deploys()
        done = len(found) >= count and found[0]["status"] not in ("pending", "running")
        return found[0] if done else None

    return eventually(ended, timeout=timeout, every=0.1, what=lambda: f"deploy #{count} ended")


def _killed(server: AndonServer) -> None:
    server.process.kill()  # SIGKILL: no cleanup of any kind
    server.process.wait()


def test_a_deploy_through_any_replica_ships_once(trio: Replicas, slack: FakeSlack) -> None:
    revision = trio.release("first", {"app.py": "print(1)\n"})
    assert "Deploying" in trio.slash("/deploy", "")
    assert _ended(trio, 1)["status"] == "succeeded"
    assert trio.live() == revision
    slack.wait_for("chat.update", lambda p: p["text"].startswith(f"Deployed {revision[:7]}"))
    posted = [text for text in trio.channel() if revision[:7] in text]
    assert len(posted) == 1, posted  # one message, updated as the deploy goes
    each_said_once(slack)


def test_the_replica_running_a_deploy_dies_and_another_settles_it(
    trio: Replicas, slack: FakeSlack
) -> None:
    second = trio.release("second", {"app.py": "print(2)\n"})
    trio.hold.arm()  # the health check waits for the test's word
    victim = trio.next()
    assert "Deploying" in trio.slash("/deploy", "", to=victim)
    eventually(trio.hold.at.exists, timeout=30, what="the deploy waiting on its health check")
    _killed(victim)
    deploy = _ended(trio, 2, timeout=30)
    assert deploy["status"] == "interrupted", deploy
    [host] = deploy["hosts"]
    assert host["step"] == "stopped" and host["runs"] == second, host  # flipped, then killed
    said = slack.wait_for("chat.update", lambda p: "interrupted" in p["text"])
    assert len(said) == 1, [c.params["text"] for c in said]
    assert "stopped here — runs" in str(said[0].params["blocks"])
    trio.hold.let_go()
    third = trio.release("third", {"app.py": "print(3)\n"})
    assert "Deploying" in trio.slash("/deploy", "")  # the lock is free
    assert _ended(trio, 3)["status"] == "succeeded"
    assert trio.live() == third
    victim.start()


def test_a_red_build_stops_the_line_once_and_its_whys_go_round_the_replicas(
    trio: Replicas, slack: FakeSlack
) -> None:
    red = trio.app.commit("breaks sign-up", {"app.py": "raise SystemExit(1)\n"})
    trio.ci(red, "failed")  # and delivered again to another replica
    stoppage = trio.next().open_stoppage(timeout=20)
    thread, number = stoppage["thread_ts"], stoppage["id"]
    stops = [text for text in trio.channel() if text.startswith("Line stopped")]
    assert len(stops) == 1, trio.channel()
    for level, answer in enumerate(WHYS, start=2):
        trio.reply(thread, f"because {answer}")
        eventually(
            lambda level=level: _whys(trio, number)["open_level"] == level,
            timeout=20,
            what=f"why {level} open",
        )
    trio.reply(thread, INVESTMENTS)
    eventually(
        lambda: _whys(trio, number)["open_level"] == 7, timeout=20, what="the five whys done"
    )
    asked = [text for text in trio.thread(thread) if text.startswith("Why ")]
    assert asked == [f"Why {n}: why “{WHYS[n - 2]}”?" for n in range(2, 6)], asked
    assert trio.slash("/digest", "").startswith(
        "Weekly digest — "
    )  # on demand: answered to whoever asked
    assert trio.slash_retried("/line", "start") == [200, 200]  # one start, however delivered
    eventually(
        lambda: [t for t in trio.channel() if t.startswith("Line running again")],
        timeout=20,
        what="the restart told",
    )
    assert len([t for t in trio.channel() if t.startswith("Line running again")]) == 1
    each_said_once(slack)


def _whys(trio: Replicas, stoppage: int) -> dict:
    return trio.api(f"/api/stoppages/{stoppage}")["whys"]


def test_an_alert_pages_once_and_one_press_acknowledges_it(
    trio: Replicas, slack: FakeSlack
) -> None:
    assert trio.alert("signups_low")["paged"] == 1
    page = eventually(
        lambda: [t for t in trio.dms(ONCALL) if "page #" in t], timeout=20, what="the page DM'd"
    )
    assert len(page) == 1 and page[0].startswith("signups_low — page #"), page
    page_id = trio.api("/api/pages")["pages"][0]["id"]
    trio.press("page_ack", str(page_id), user=ONCALL)
    slack.wait_for("chat.update", lambda p: "acknowledged by" in p.get("text", ""), timeout=20)
    assert trio.api("/api/pages")["pages"][0]["status"] == "acknowledged"
    assert len([t for t in trio.dms(ONCALL) if "page #" in t]) == 1
    assert "You started the line" in trio.slash("/line", "start force the next scenario")
    slack.wait_for("chat.postMessage", lambda p: "forced the line to start" in p["text"])
    each_said_once(slack)


def test_the_replica_whose_courier_holds_messages_dies_and_the_others_deliver(
    trio: Replicas, slack: FakeSlack
) -> None:
    url = trio.servers[0].env["ANDON_DATABASE_URL"]
    eventually(lambda: not pending(url), timeout=20, what="the outbox delivered")
    with slack.holding():  # Slack hears the announcement but answers nothing yet
        assert "You stopped the line" in trio.slash("/line", "stop payments are down")
        slack.wait_for("chat.postMessage", lambda p: "payments are down" in p["text"])
        held = eventually(
            lambda: {h for h in pending(url) if h}, what="a courier holding the message"
        )
        pids = {int(holder.split(":")[1]) for holder in held}
        victim = next(s for s in trio.servers if s.process.pid in pids)
        _killed(victim)
        red = trio.app.commit("breaks checkout", {"app.py": "raise SystemExit(2)\n"})
        trio.ci(red, "failed")  # answered 200 while Slack still holds: queued behind the stop
    stoppage = trio.next().open_stoppage(timeout=TAKE_OVER)
    told = eventually(
        lambda: [t for t in trio.channel() if red[:7] in t],
        timeout=TAKE_OVER,
        what="the red build told after the stop",
    )
    assert len(told) == 1, told
    channel = trio.channel()
    stops = [t for t in channel if "payments are down" in t]
    # the dead courier's call reached Slack, unanswered: a survivor finds it there by its outbox
    # id (Slack's message metadata) and does not post it again
    assert len(stops) == 1, channel
    assert channel.index(told[0]) > channel.index(stops[0]), channel  # in order
    assert [m["text"] for m in slack.shown(CHANNEL)].count(stops[0]) == 1
    thread = eventually(
        lambda: (said := trio.thread(stoppage["thread_ts"])) and len(said) >= 2 and said,
        timeout=TAKE_OVER,
        what=lambda: (
            f"the five whys and the cause in the thread: {trio.thread(stoppage['thread_ts'])}"
        ),
    )
    assert [text.split(":")[0] for text in thread] == [
        f"Stoppage #{stoppage['id']} — Why 1",
        "tests CI added a cause",
    ], thread
    each_said_once(slack)
    victim.start()
    assert "You started the line" in trio.slash("/line", "start force the next scenario")


@pytest.mark.campaign
def test_a_replica_on_another_machine_dies_mid_deploy_and_its_lease_tells(
    trio: Replicas, slack: FakeSlack
) -> None:
    """Its pid cannot be asked from here: the dead process is left a zombie, whose pid answers,
    so only the lease (30 s) tells the survivors — as for a replica on another machine."""
    revision = trio.release("fourth", {"app.py": "print(4)\n"})
    count = len(trio.deploys()) + 1
    trio.hold.arm()
    victim = trio.next()
    survivor = next(server for server in trio.servers if server is not victim)
    assert "Deploying" in trio.slash("/deploy", "", to=victim)
    eventually(trio.hold.at.exists, timeout=30, what="the deploy waiting on its health check")
    victim.process.kill()  # not reaped: the round robin's poll would, so the survivor is asked

    def settled() -> dict | None:
        found = survivor.api("/api/deploys").json()["deploys"]
        return found[0] if len(found) == count and found[0]["status"] == "interrupted" else None

    deploy = eventually(settled, timeout=TTL.total_seconds() + 15, what="the lease running out")
    assert deploy["hosts"][0]["runs"] == revision, deploy
    victim.process.wait()
    trio.hold.let_go()
    slack.wait_for("chat.update", lambda p: "interrupted" in p["text"], timeout=20)
    victim.start()


def test_due_work_ran_once_across_the_replicas(trio: Replicas) -> None:
    """The check runs every hour: three replicas ticking four times a second read it once."""
    assert trio.metric.reads == 1
    assert trio.api("/api/line")["state"] == "running"
