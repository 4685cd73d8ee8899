"""Every stored state changes through its table: the moves Andon makes pass, and a move the
table does not know raises, leaving the row as it was (a bug in Andon, never a person's input).

In-process and without a database: the tables are plain data, the rows plain objects.
"""

import pytest

from core import stoppage
from core.alerts import pages
from core.alerts.pages import PageStatus
from core.deploy import state
from core.deploy.state import DeployState
from core.lifecycle import IllegalMoveError, Lifecycle
from core.stoppage import StoppageState
from storage.tables import Deploy, Page, Stoppage


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
