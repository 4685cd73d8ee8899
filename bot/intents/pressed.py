"""Every button's action id in one place, and what pressing it means: Slack and the shell share
them."""

import re
from collections.abc import Callable
from enum import StrEnum

from bot.intents.flags import TurnOffFlag
from bot.intents.typed import (
    AckPage,
    ActionDone,
    ApproveDeploy,
    Help,
    Intent,
    ResolvePage,
    Rollback,
    StartLine,
)


class ActionId(StrEnum):
    LINE_START = "line_start"
    DEPLOY_ROLLBACK = "deploy_rollback"
    DEPLOY_APPROVE = "deploy_approve"
    PAGE_ACK = "page_ack"
    PAGE_RESOLVE = "page_resolve"
    ACTION_DONE = "action_done"
    FLAG_OFF = "flag_off"  # a page's *Turn off*: the value is "<environment> <key>"
    WHYS_FORM = "whys_form"  # opens the investments form: Slack only, no intent behind it
    WHYS_SCHEDULE = "whys_schedule"  # opens a modal asking when: Slack only, then /whys schedule

    def nth(self, index: int) -> str:
        """Slack refuses a message with two buttons of one ``action_id``: the second *Roll back*
        of a page is ``deploy_rollback:1``, and the listener answers the whole family."""
        return self.value if index == 0 else f"{self.value}:{index}"

    @property
    def family(self) -> re.Pattern[str]:
        return re.compile(rf"^{re.escape(self.value)}(?::[0-9]+)?$")

    @classmethod
    def of(cls, action_id: str) -> "ActionId | None":
        """The family a pressed button belongs to, or None for an id Andon never sent."""
        name, _, index = action_id.partition(":")
        if index and not index.isdigit():
            return None
        return next((member for member in cls if member.value == name), None)


def _rollback(value: str) -> Intent:
    environment, _, revision = value.partition(" ")
    return Rollback(environment or None, revision or None)


def _approve(value: str) -> Intent:
    return ApproveDeploy(int(value)) if value.isdigit() else Help(not_understood=value)


def _ack(value: str) -> Intent:
    return AckPage(int(value)) if value.isdigit() else Help(not_understood=value)


def _resolve(value: str) -> Intent:
    return ResolvePage(int(value)) if value.isdigit() else Help(not_understood=value)


def _turn_off(value: str) -> Intent:
    environment, _, key = value.partition(" ")
    return TurnOffFlag(key, environment or None) if key else Help(not_understood=value)


# Buttons that open a Slack modal: the terminal has none, so it shows what to type instead.
TYPED: dict[ActionId, str] = {
    ActionId.WHYS_FORM: "reply in the thread, e.g. #<thread> 3: <action> @owner due fri",
    ActionId.WHYS_SCHEDULE: "type /whys schedule tomorrow 10:00",
}

# What pressing each button does; the value is the one the button carries.
PRESSES: dict[ActionId, Callable[[str], Intent]] = {
    ActionId.LINE_START: lambda _value: StartLine(),
    ActionId.DEPLOY_ROLLBACK: _rollback,
    ActionId.DEPLOY_APPROVE: _approve,
    ActionId.PAGE_ACK: _ack,
    ActionId.PAGE_RESOLVE: _resolve,
    ActionId.ACTION_DONE: lambda value: (
        ActionDone(int(value)) if value.isdigit() else Help(not_understood=value)
    ),
    ActionId.FLAG_OFF: _turn_off,
}
