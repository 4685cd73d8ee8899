"""The line's rules and the five whys' rule that restarts it, as core applies them: what people
are told (the notices), recorded in-process — no outbox, no courier, no Slack."""

from datetime import timedelta

import pytest

from core import line
from core.actor import Actor
from core.clock import ManualClock
from core.line import AlreadyStopped, Started, Stopped
from core.line_notices import CauseAdded, LineStarted, LineStopped, ThreadOpened
from core.notifier import MessageRef
from core.refusal import Refusal
from core.stoppage import Cause
from core.whys import conversation
from core.whys import rule as whys_rule
from core.whys.notices import InvestmentsAsked, MeetingScheduled, WhyAsked, WhysDone
from core.whys.rule import Scheduled
from storage.database import Database
from tests.notifier import RecordingNotifier

# The rules are the same on every database: test_line_on_both_databases.py holds the locks.
pytestmark = pytest.mark.databases("sqlite")

MARIA = Actor("U0MARIA", "maria", "slack")
OPS = Actor("ops", "ops", "cli")
ADMIN = Actor("U0LEAD", "lead", "slack")


class Team:
    """One team's line: each call is one transaction, as a command is."""

    def __init__(self, database: Database, clock: ManualClock, told: RecordingNotifier) -> None:
        self.database, self.clock, self.told = database, clock, told

    def stop(self, actor: Actor, reason: str) -> Stopped | AlreadyStopped | Refusal:
        with self.database.writing() as session:
            notifier = self.told.on(session)
            return line.stop(
                session, notifier=notifier, clock=self.clock, actor=actor, reason=reason
            )

    def start(self, actor: Actor, *, force: str | None = None) -> Started | Refusal:
        with self.database.writing() as session:
            return line.start(
                session,
                notifier=self.told.on(session),
                clock=self.clock,
                actor=actor,
                force=force,
                admins=[ADMIN.id],
            )

    def schedule(self, actor: Actor, when: str) -> Scheduled | Refusal:
        with self.database.writing() as session:
            notifier = self.told.on(session)
            return whys_rule.schedule(
                session, notifier=notifier, clock=self.clock, actor=actor, when=when
            )

    def say(self, stoppage_id: int, actor: Actor, text: str) -> None:
        """A reply in the stoppage's thread."""
        with self.database.writing() as session:
            conversation.hear(
                session,
                notifier=self.told.on(session),
                clock=self.clock,
                stoppage_id=stoppage_id,
                actor=actor,
                text=text,
                timezone="UTC",
            )


@pytest.fixture
def team(database: Database, clock: ManualClock, notifier: RecordingNotifier) -> Team:
    return Team(database, clock, notifier)


def _stopped(team: Team, reason: str = "CI is red on main") -> tuple[int, MessageRef, MessageRef]:
    """The stoppage a stop opened, its announcement and its thread."""
    result = team.stop(MARIA, reason)
    assert isinstance(result, Stopped)
    announcement, thread = (t.ref for t in team.told.told[:2])
    return result.stoppage.id, announcement, thread


# --- stopping ----------------------------------------------------------------------------------


def test_a_stop_is_announced_in_the_channel_with_the_five_whys_thread_under_it(
    team: Team, clock: ManualClock
) -> None:
    stoppage, announcement, _ = _stopped(team, "CI is red on main")
    posted, opened = team.told.told
    assert (posted.how, posted.notice) == (
        "post",
        LineStopped(stoppage, MARIA, "CI is red on main", clock.now()),
    )
    assert (opened.how, opened.to) == ("reply", announcement)
    assert opened.notice == ThreadOpened(stoppage, "CI is red on main", MARIA)


def test_a_second_stop_is_said_in_the_thread_and_the_announcement_shows_every_cause(
    team: Team, clock: ManualClock
) -> None:
    stoppage, announcement, thread = _stopped(team, "CI is red")
    team.told.forget()
    clock.advance(timedelta(minutes=3))
    team.stop(OPS, "and the disk is full")

    (added,) = team.told.notices("reply", to=thread)
    assert isinstance(added, CauseAdded)
    assert (added.by, added.reason, added.at) == (OPS, "and the disk is full", clock.now())
    assert added.asks is not None and added.asks.causes[1] == ("and the disk is full", OPS)
    (shown,) = team.told.notices("update", to=announcement)
    assert shown == LineStopped(
        stoppage,
        MARIA,
        "CI is red",
        clock.now() - timedelta(minutes=3),
        others=(Cause("and the disk is full", OPS, clock.now()),),
    )
    assert team.told.notices("post") == []  # one stoppage, one announcement


def test_a_stop_refused_for_want_of_a_reason_tells_nobody(team: Team) -> None:
    refused = team.stop(MARIA, "   ")
    assert isinstance(refused, Refusal) and "Say why" in refused.reason
    assert team.told.told == []


# --- the five whys' rule that restarts the line -------------------------------------------------


def test_the_line_does_not_start_before_its_five_whys_is_done_or_has_a_meeting(
    team: Team,
) -> None:
    stoppage, _, _ = _stopped(team)
    team.told.forget()
    refused = team.start(OPS)
    assert isinstance(refused, Refusal)
    assert f"The five whys of stoppage #{stoppage} is not done" in refused.reason
    assert team.told.told == []  # a refusal is the asker's alone


def test_a_meeting_is_said_in_the_thread_and_the_announcement_offers_to_start_the_line(
    team: Team, clock: ManualClock
) -> None:
    stoppage, announcement, thread = _stopped(team)
    team.told.forget()
    team.schedule(OPS, "in 1h")

    meeting = clock.now() + timedelta(hours=1)
    assert team.told.notices("reply", to=thread) == [MeetingScheduled(meeting, OPS)]
    assert team.told.notices("update", to=announcement) == [
        LineStopped(stoppage, MARIA, "CI is red on main", clock.now(), may_start=True)
    ]


def test_a_start_tells_the_channel_how_long_the_line_stood_and_what_the_whys_still_owes(
    team: Team, clock: ManualClock
) -> None:
    stoppage, announcement, _ = _stopped(team)
    stopped_at = clock.now()
    team.schedule(OPS, "in 1h")
    clock.advance(timedelta(minutes=42))
    team.told.forget()

    started = team.start(OPS)

    assert isinstance(started, Started) and started.stopped_for == timedelta(minutes=42)
    (said,) = team.told.notices("post")
    assert isinstance(said, LineStarted)
    assert (said.stoppage_id, said.by, said.at) == (stoppage, OPS, clock.now())
    assert said.stopped_for == timedelta(minutes=42) and said.forced is None
    assert said.meeting == stopped_at + timedelta(hours=1) and said.owed
    (struck,) = team.told.notices("update", to=announcement)
    assert struck == LineStopped(stoppage, MARIA, "CI is red on main", stopped_at, OPS, clock.now())


def test_only_an_admin_forces_a_start_and_the_channel_hears_why(team: Team) -> None:
    _stopped(team)
    team.told.forget()
    refused = team.start(OPS, force="the release cannot wait")
    assert isinstance(refused, Refusal) and "Only admins" in refused.reason
    assert team.told.told == []

    assert isinstance(team.start(ADMIN, force="the release cannot wait"), Started)
    (said,) = team.told.notices("post")
    assert isinstance(said, LineStarted) and said.forced == "the release cannot wait"


def test_five_answers_then_an_investment_per_level_finish_the_whys_and_free_the_line(
    team: Team,
) -> None:
    stoppage, announcement, thread = _stopped(team)
    team.told.forget()
    for n in range(1, 6):
        team.say(stoppage, MARIA, f"because reason {n}")
    asked = team.told.notices("reply", to=thread)
    assert [n.level for n in asked if isinstance(n, WhyAsked)] == [2, 3, 4, 5]
    assert isinstance(asked[-1], InvestmentsAsked)
    assert isinstance(team.start(OPS), Refusal)  # answered, not yet invested in

    team.told.forget()
    team.say(stoppage, MARIA, "\n".join(f"{n}: none: enough as it is" for n in range(1, 6)))
    done = [n for n in team.told.notices("reply", to=thread) if isinstance(n, WhysDone)]
    assert len(done) == 1 and done[0].analysis.done_at is not None
    offered = team.told.notices("update", to=announcement)[-1]
    assert isinstance(offered, LineStopped) and offered.may_start
    assert isinstance(team.start(OPS), Started)
