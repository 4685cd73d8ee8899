"""Who is acting, as ``core`` knows people: a Slack user ID, a name, and the front."""

from typing import Any

from core.actor import Actor


def from_command(command: dict[str, Any]) -> Actor:
    user = command.get("user_id", "")
    return Actor(id=user, name=command.get("user_name") or user, via="slack")


def from_action(body: dict[str, Any]) -> Actor:
    user = body.get("user") or {}
    ident = user.get("id", "")
    return Actor(id=ident, name=user.get("username") or user.get("name") or ident, via="slack")
