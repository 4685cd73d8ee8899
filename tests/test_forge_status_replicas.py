"""Replicas on one database publish ``andon/line`` once per head per change of the line.

Two Andons share one database (each with its own connections, as two ``andon serve`` processes
do) and each runs its own commit status loop against one fake GitHub: every head gets one status
when it opens, one when the line stops and one when it starts again — not one per replica. A head
a dead replica had claimed is published by a survivor once the claim runs out (or at once when the
dead one ran on this machine).
"""

import itertools
import os
import socket
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from bot.andon import Andon
from bot.forges.statuses import ForgeStatuses, GitHubStatuses
from bot.intents.typed import StartLine, StopLine
from bot.outbox.courier import Courier
from bot.terminal.chat import TerminalChat
from core import review
from core.actor import Actor
from core.clock import ManualClock
from core.config.file import AccessConfig, AndonConfig
from core.review import ReviewEvent
from storage.database import Database
from tests.ci_payloads import sha
from tests.fakes.forges import FakeGitHub, Status

TOKEN = "ghp_test0000000000andon"
REPO = "acme/shop"
MARIA = Actor("U0MARIA", "maria", "slack")
LEAD = Actor("U0LEAD", "lead", "slack")
ELSEWHERE = "db-replica-2:4242:0a0b0c"  # a replica on another machine: only its lease tells
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as fake:
        yield fake
    assert fake.problems == []


@pytest.fixture
def replicas(
    database: Database, clock: ManualClock, github: FakeGitHub
) -> Iterator[Callable[[], tuple[Andon, ForgeStatuses]]]:
    """A new replica on the test's database at each call: an Andon and its status loop."""
    made: list[tuple[Database, ForgeStatuses]] = []

    def replica() -> tuple[Andon, ForgeStatuses]:
        own = Database(database.url)
        config = AndonConfig(access=AccessConfig(admins=[LEAD.id]))
        courier = Courier(own, TerminalChat(), clock=clock)
        andon = Andon(database=own, config=config, clock=clock, courier=courier, channel="")
        loop = ForgeStatuses(andon, {"github": GitHubStatuses(api=github.api, token=TOKEN)})
        # Each replica as its own process: the claims of another token of this very pid are
        # an earlier life's, freed at start — which two loops in one process are not.
        loop.holder = f"{socket.gethostname()}:{os.getppid()}:{len(made)}"
        made.append((own, loop))
        return andon, loop

    yield replica
    for own, loop in made:
        loop.stop()
        own.dispose()


def opened(andon: Andon, head: str) -> None:
    """GitHub said a pull request opened with ``head``, as its webhook does."""
    event = ReviewEvent("github", REPO, next(_numbers), head, open=True)
    andon.track_review(event)


def on(head: str, state: str) -> Callable[[Status], bool]:
    return lambda status: status.sha == head and status.params["state"] == state


def test_two_replicas_publish_each_change_on_each_head_once(
    replicas: Callable[[], tuple[Andon, ForgeStatuses]], github: FakeGitHub
) -> None:
    (first, first_loop), (second, second_loop) = replicas(), replicas()
    heads = [sha() for _ in range(4)]
    for number, head in enumerate(heads):
        opened(first if number % 2 else second, head)
    first_loop.start()
    second_loop.start()
    for head in heads:
        github.wait_for(on(head, "success"))

    first.execute(StopLine("checkout is down for everyone"), MARIA)
    for head in heads:
        github.wait_for(on(head, "failure"))
    second.execute(StartLine(force="the fix is out"), LEAD)
    for head in heads:
        github.wait_for(on(head, "success"), count=2)

    first_loop.stop()
    second_loop.stop()  # nothing is in flight any more: what the fake saw is all there is
    for head in heads:
        shown = [(s.params["state"], s.answered) for s in github.statuses(head)]
        assert shown == [("success", 201), ("failure", 201), ("success", 201)], head


def test_a_head_claimed_by_a_dead_replica_is_published_once_its_claim_runs_out(
    replicas: Callable[[], tuple[Andon, ForgeStatuses]],
    github: FakeGitHub,
    clock: ManualClock,
) -> None:
    andon, survivor = replicas()
    head = sha()
    opened(andon, head)
    with andon.database.writing() as session:
        [due] = review.due(session, clock=clock)
        assert due.id is not None
        taken = review.claim(session, clock=clock, head_id=due.id, sha=head, holder=ELSEWHERE)
    assert taken == review.Wanted("success", "Line runs")  # then the replica died

    survivor.run_once()
    clock.advance(review.CLAIM - timedelta(seconds=1))
    survivor.run_once()
    assert github.statuses(head) == []  # its lease still holds it

    clock.advance(timedelta(seconds=2))
    survivor.run_once()
    survivor.run_once()
    assert [(s.params["state"], s.answered) for s in github.statuses(head)] == [("success", 201)]
    with andon.database.reading() as session:
        assert review.due(session, clock=clock) == []


def test_a_head_claimed_by_a_dead_process_on_this_machine_is_published_at_once(
    replicas: Callable[[], tuple[Andon, ForgeStatuses]], github: FakeGitHub, clock: ManualClock
) -> None:
    andon, restarted = replicas()
    head = sha()
    opened(andon, head)
    earlier_life = f"{socket.gethostname()}:{os.getpid()}:000000"  # this pid, an older token
    with andon.database.writing() as session:
        [due] = review.due(session, clock=clock)
        assert due.id is not None
        assert review.claim(session, clock=clock, head_id=due.id, sha=head, holder=earlier_life)

    assert restarted.release_orphans() == 1
    restarted.run_once()
    assert [(s.params["state"], s.answered) for s in github.statuses(head)] == [("success", 201)]
