"""Every button's action id in one place, and what pressing it means: Slack and the shell share
them."""

from collections.abc import Callable
from enum import StrEnum

from bot.commands import ApproveDeploy, Help, Intent, Rollback, StartLine


class ActionId(StrEnum):
    LINE_START = "line_start"
    DEPLOY_ROLLBACK = "deploy_rollback"
    DEPLOY_APPROVE = "deploy_approve"


def _rollback(value: str) -> Intent:
    environment, _, revision = value.partition(" ")
    return Rollback(environment or None, revision or None)


def _approve(value: str) -> Intent:
    return ApproveDeploy(int(value)) if value.isdigit() else Help(not_understood=value)


# What pressing each button does; the value is the one the button carries.
PRESSES: dict[ActionId, Callable[[str], Intent]] = {
    ActionId.LINE_START: lambda _value: StartLine(),
    ActionId.DEPLOY_ROLLBACK: _rollback,
    ActionId.DEPLOY_APPROVE: _approve,
}
