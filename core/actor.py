"""Who did something, and through which front: every record and announcement names them."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """A person (or system) acting on the line.

    ``id`` is the identity on the front it came from (a Slack user ID, a login name);
    ``via`` names that front: ``slack``, ``terminal``, ``cli``, ``http``.
    """

    id: str
    name: str
    via: str

    @property
    def is_slack_user(self) -> bool:
        return self.via == "slack"
