"""Every button's action id in one place: Slack's listeners and the shell share them."""

from enum import StrEnum


class ActionId(StrEnum):
    LINE_START = "line_start"
