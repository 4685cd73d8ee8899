"""Who did something, and through which front: every record and announcement names them."""

from dataclasses import dataclass

# Fronts through which Andon itself, or another system, acts: never a person to address.
SYSTEMS = frozenset({"ci", "alert", "auto", "deploy", "scheduler", "chat", "andon", "http"})


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

    @property
    def called(self) -> str:
        """``@maria`` for a person, ``tests CI`` for a system: only people read like mentions."""
        name = self.name or self.id
        return name if self.via in SYSTEMS else f"@{name}"


# Andon deploying on its own (``auto_deploy``): ``[access] deployers`` need not name it.
AUTO_DEPLOY = Actor(id="andon:auto-deploy", name="auto-deploy", via="auto")

# Andon continuing a deploy interrupted between batches (``resume = true``).
AUTO_RESUME = Actor(id="andon:auto-resume", name="auto-resume", via="auto")
