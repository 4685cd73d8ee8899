"""What people type — ``/line stop CI is red`` — read into intents every front executes alike."""

from dataclasses import dataclass

COMMANDS = ("/line", "/ci")


@dataclass(frozen=True)
class StopLine:
    reason: str


@dataclass(frozen=True)
class StartLine:
    pass


@dataclass(frozen=True)
class ShowLine:
    pass


@dataclass(frozen=True)
class ShowCi:
    revision: str


@dataclass(frozen=True)
class Help:
    """Usage, and what was not understood (if anything) so the answer can say so."""

    not_understood: str | None = None


Intent = StopLine | StartLine | ShowLine | ShowCi | Help


def parse(command: str, text: str) -> Intent:
    """Read one slash command; anything unknown becomes help that names what was not understood."""
    command = command.strip().lower()
    words = text.split(maxsplit=1)
    verb = words[0].lower() if words else ""
    rest = words[1] if len(words) > 1 else ""
    if command == "/ci":
        return ShowCi(text.strip()) if text.strip() else Help(not_understood="/ci")
    if command != "/line":
        return Help(not_understood=f"{command} {text}".strip())
    if verb == "stop":
        return StopLine(rest)
    if verb == "start" and not rest.strip():
        return StartLine()
    if verb in ("status", "") and not rest.strip():
        return ShowLine()
    if verb == "help":
        return Help()
    return Help(not_understood=f"/line {text}".strip())


USAGE = (
    "*Andon* runs the production line:\n"
    "• `/line stop <reason>` — stop the line; a five-whys thread opens under the announcement\n"
    "• `/line start` — run the line again\n"
    "• `/line status` — is the line running, since when, and why not\n"
    "• `/ci <revision>` — what every CI pipeline said about a commit\n"
    "• `/line help` — this message"
)
