"""Every stored state changes through its table: the moves Andon makes pass, and a move the
table does not know raises, leaving the row as it was (a bug in Andon, never a person's input).

In-process and without a database: the tables are plain data, the rows plain objects.
"""

import pytest

from bot.outbox import message as outbox_message
from bot.outbox.message import MessageKind, MessageStatus
from core import stoppage
from core.alerts import pages
from core.alerts.pages import PageStatus
from core.deploy import state
from core.deploy.state import DeployState
from core.lifecycle import IllegalMoveError, Lifecycle
from core.stoppage import StoppageState
from core.whys import item_status, phase
from core.whys.item_status import ItemStatus
from core.whys.phase import Phase
from storage.tables import ActionItem, Deploy, OutboxMessage, Page, Stoppage, Whys


def test_a_table_allows_its_moves_and_names_where_a_state_is_reached_from() -> None:
    life = Lifecycle({"a": {"b"}, "b": {"c"}, "c": ()})
    assert life.check("a", "b", what="thing #1") == "b"
    assert life.sources("c") == ("b",) and life.sources("a") == ()
    with pytest.raises(IllegalMoveError, match=r"thing #1: a → c is not allowed"):
        life.check("a", "c", what="thing #1")


def test_every_state_of_every_table_is_named() -> None:
    for enum, life in [
        (PageStatus, pages.LIFECYCLE),
        (StoppageState, stoppage.LIFECYCLE),
        (Phase, phase.LIFECYCLE),
        (ItemStatus, item_status.LIFECYCLE),
        (MessageStatus, outbox_message.LIFECYCLE),
    ]:
        assert set(life.states) == set(enum)


@pytest.mark.parametrize(
    ("start", "to"),
    [
        ("awaiting_approval", DeployState.PENDING),
        ("pending", DeployState.AWAITING_APPROVAL),  # approved, but another deploy holds the lock
        ("pending", DeployState.RUNNING),
        ("running", DeployState.SUCCEEDED),
    ],
)
def test_a_deploy_moves_as_the_table_says(start: str, to: DeployState) -> None:
    deploy = Deploy(id=7, status=start)
    state.move(deploy, to)
    assert deploy.status == to.value


def test_a_finished_deploy_does_not_wait_for_approval_again() -> None:
    deploy = Deploy(id=7, status="succeeded")
    with pytest.raises(IllegalMoveError, match="deploy #7"):
        state.move(deploy, DeployState.AWAITING_APPROVAL)
    assert deploy.status == "succeeded"


def test_a_stoppage_closes_once() -> None:
    halt = Stoppage(id=3, state="open")
    stoppage.move(halt, StoppageState.CLOSED)
    assert halt.state == "closed"
    with pytest.raises(IllegalMoveError, match="stoppage #3"):
        stoppage.move(halt, StoppageState.CLOSED)


@pytest.mark.parametrize(
    ("start", "to"),
    [
        ("open", PageStatus.ACKNOWLEDGED),
        ("open", PageStatus.RESOLVED),
        ("acknowledged", PageStatus.RESOLVED),
        ("held", PageStatus.OPEN),  # the storm left room: paged now
        ("held", PageStatus.RESOLVED),
    ],
)
def test_a_page_moves_as_the_table_says(start: str, to: PageStatus) -> None:
    page = Page(id=5, status=start)
    pages.move(page, to)
    assert page.status == to.value


@pytest.mark.parametrize(
    ("start", "to"),
    [
        ("resolved", PageStatus.OPEN),
        ("acknowledged", PageStatus.OPEN),
        ("acknowledged", PageStatus.HELD),
        ("open", PageStatus.HELD),
    ],
)
def test_a_page_never_moves_back(start: str, to: PageStatus) -> None:
    page = Page(id=5, status=start)
    with pytest.raises(IllegalMoveError, match="page #5"):
        pages.move(page, to)
    assert page.status == start


def test_the_five_whys_phases_are_read_from_the_stored_level() -> None:
    assert [Phase.of(Whys(stoppage_id=1, open_level=n)) for n in (1, 5, 6, 7)] == [
        Phase.WHY_1,
        Phase.WHY_5,
        Phase.INVESTING,
        Phase.DONE,
    ]
    assert Phase.WHY_3.asked == 3 and Phase.INVESTING.asked is None
    assert Phase.INVESTING.answered and not Phase.INVESTING.done and Phase.DONE.answered


def test_five_answers_then_the_investments_close_a_five_whys() -> None:
    row = Whys(stoppage_id=4)  # born asking why 1
    seen = []
    while not Phase.of(row).answered:
        phase.move(row, Phase.of(row).following)
        seen.append(row.open_level)
    phase.move(row, Phase.DONE)
    assert seen == [2, 3, 4, 5, 6] and row.open_level == 7


@pytest.mark.parametrize(
    ("level", "before"), [(2, Phase.WHY_1), (5, Phase.WHY_4), (6, Phase.WHY_5)]
)
def test_back_asks_the_why_before(level: int, before: Phase) -> None:
    row = Whys(stoppage_id=4, open_level=level)
    assert Phase.of(row).previous is before
    phase.move(row, before)
    assert row.open_level == before.value


@pytest.mark.parametrize(
    ("level", "to"),
    [
        (1, Phase.WHY_3),  # a why is not skipped
        (3, Phase.DONE),  # nor are the investments
        (7, Phase.WHY_5),  # a done five whys stays done
        (7, Phase.INVESTING),
    ],
)
def test_a_five_whys_skips_no_phase(level: int, to: Phase) -> None:
    row = Whys(stoppage_id=4, open_level=level)
    with pytest.raises(IllegalMoveError, match="stoppage #4"):
        phase.move(row, to)
    assert row.open_level == level


@pytest.mark.parametrize(
    ("start", "to"),
    [
        ("open", ItemStatus.DONE),
        ("open", ItemStatus.NONE),  # restated as "none: <why>"
        ("done", ItemStatus.OPEN),  # restated: the new investment is open
        ("none", ItemStatus.OPEN),
    ],
)
def test_an_action_item_moves_as_the_table_says(start: str, to: ItemStatus) -> None:
    item = ActionItem(id=9, status=start)
    item_status.move(item, to)
    assert item.status == to.value


def test_an_item_that_invests_nothing_is_never_done() -> None:
    item = ActionItem(id=9, status="none")
    with pytest.raises(IllegalMoveError, match="action item 9: none → done"):
        item_status.move(item, ItemStatus.DONE)
    assert item.status == "none"
    assert item_status.LIFECYCLE.sources(ItemStatus.DONE) == (ItemStatus.OPEN,)


@pytest.mark.parametrize("to", [MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.SUPERSEDED])
def test_a_pending_message_is_sent_given_up_or_superseded(to: MessageStatus) -> None:
    row = OutboxMessage(id=12, kind=MessageKind.UPDATE.value, status="pending")
    outbox_message.move(row, to)
    assert row.status == to.value


@pytest.mark.parametrize("start", ["sent", "failed", "superseded"])
def test_a_settled_message_stays_settled(start: str) -> None:
    row = OutboxMessage(id=12, kind=MessageKind.POST.value, status=start)
    with pytest.raises(IllegalMoveError, match="message #12"):
        outbox_message.move(row, MessageStatus.SENT)
    assert row.status == start
