"""Every message Andon renders fits Slack and says nothing live it did not mean to.

Each announcement ``core`` can make and each answer a person can get is rendered from hostile
generated domain objects — 2,000-character reasons, hundreds of failing tests, 500 hosts, 50
causes, 100 action items, markup in every string — and judged by the same rules the fake Slack
applies (tests/fakes/slack_rules.py). Then every ``<…>`` token left in the mrkdwn must be one
Andon writes on purpose: a person or channel by id, a date, a link to a plain http(s) URL.
"""

import typing
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.render import notice
from bot.render.reply import Result, reply
from core.alerts.notices import Escalated, NotReached, Round, Unacknowledged
from core.notifier import Notice
from tests import hostile, inert
from tests.fakes import slack_rules
from tests.fuzzing import fuzz

# A campaign: `make campaign` (run by .ci/run after `make test`), not `make test`.
pytestmark = pytest.mark.campaign

NOTICES = sorted(
    (kind for kind in notice.registry if kind is not Notice and issubclass(kind, Notice)),
    key=lambda kind: kind.__name__,
)
ANSWERS = [kind for kind in typing.get_args(Result) if typing.get_origin(kind) is not list]


@pytest.mark.parametrize("kind", NOTICES, ids=lambda kind: kind.__name__)
@fuzz(8)
@given(data=st.data())
def test_every_announcement_fits_slack_and_is_inert(kind: type, data: st.DataObject) -> None:
    item = data.draw(hostile.built(kind))
    shown = notice(item)
    _assert_fits(shown)
    _assert_inert(shown, here=_says_here(item))


@pytest.mark.parametrize("kind", ANSWERS, ids=lambda kind: kind.__name__)
@fuzz(8)
@given(data=st.data())
def test_every_answer_fits_slack_and_is_inert(kind: type, data: st.DataObject) -> None:
    shown = reply(data.draw(hostile.built(kind)))
    _assert_fits(shown)
    _assert_inert(shown, here=False)


def test_the_notices_and_answers_are_all_here() -> None:
    """A new announcement or answer is judged here the day it is written."""
    assert len(NOTICES) >= 29
    assert len(ANSWERS) >= 20


def _says_here(item: Notice) -> bool:
    """Andon's own deliberate ``@here``: a page nobody acknowledged (or a round's pages), or
    nobody could be sent."""
    if isinstance(item, Escalated):
        return item.to_channel
    if isinstance(item, Unacknowledged):
        return item.kind == Round.CHANNEL
    return isinstance(item, NotReached) and item.paging is None


def _assert_fits(shown: dict[str, Any]) -> None:
    refusal = slack_rules.message(shown)
    assert refusal is None, f"Slack would refuse it: {refusal}"


def _assert_inert(shown: dict[str, Any], *, here: bool) -> None:
    for text in inert.texts(shown):
        found = inert.problems(text, here=here)
        assert not found, found[0]
