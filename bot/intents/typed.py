"""What people type — ``/line stop CI is red`` — read into intents every front executes alike."""

import re
from collections.abc import Collection
from dataclasses import dataclass

from bot.intents import flags, help
from bot.intents.flags import ChangeFlag, CreateFlag, ListFlags, ShowFlag, TurnOffFlag

COMMANDS = (
    "/line",
    "/ci",
    "/deploy",
    "/rollback",
    "/oncall",
    "/checks",
    "/whys",
    "/actions",
    "/digest",
    "/flag",
)


@dataclass(frozen=True)
class StopLine:
    reason: str


@dataclass(frozen=True)
class StartLine:
    force: str | None = None  # ``/line start force <reason>``: admins only


@dataclass(frozen=True)
class ShowLine:
    pass


@dataclass(frozen=True)
class ShowCi:
    revision: str


@dataclass(frozen=True)
class Help:
    """Usage, and what was not understood (if anything) so the answer can say so: the command
    a typo most likely ``meant``, or a ``hint`` at what would work."""

    not_understood: str | None = None
    meant: str | None = None
    hint: str | None = None


@dataclass(frozen=True)
class Deploy:
    revision: str | None = None
    environment: str | None = None
    fix_reason: str | None = None
    override: bool = False
    again: bool = False  # the live revision, once more on purpose


@dataclass(frozen=True)
class Rollback:
    environment: str | None = None
    revision: str | None = None
    confirmed: bool = False


@dataclass(frozen=True)
class ResumeDeploy:
    """``/deploy resume [env] [override] [fix: <reason>]``: continue an interrupted deploy."""

    environment: str | None = None
    fix_reason: str | None = None
    override: bool = False


@dataclass(frozen=True)
class ShowDeploys:
    environment: str | None = None


@dataclass(frozen=True)
class ApproveDeploy:
    deploy_id: int


@dataclass(frozen=True)
class ShowOncall:
    pass


@dataclass(frozen=True)
class OverrideOncall:
    user: str
    until: str


@dataclass(frozen=True)
class ShowChecks:
    pass


@dataclass(frozen=True)
class ShowWhys:
    pass


@dataclass(frozen=True)
class SetSeverity:
    severity: str


@dataclass(frozen=True)
class ScheduleWhys:
    when: str


@dataclass(frozen=True)
class ShowActions:
    everyone: bool = False


@dataclass(frozen=True)
class ActionDone:
    item_id: int


@dataclass(frozen=True)
class ShowDigest:
    week: str = "this"  # this | last | 2026-W47
    every_overdue_item: bool = False  # an export lists them all; a message names the first few


@dataclass(frozen=True)
class RecordInvestments:
    """The investments form (``bot.slack.whys_form``): one field per level, as typed, and the
    stoppage the modal was opened for, as it came back."""

    stoppage: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class AckPage:
    page_id: int


@dataclass(frozen=True)
class ResolvePage:
    page_id: int


Intent = (
    StopLine
    | StartLine
    | ShowLine
    | ShowCi
    | Deploy
    | Rollback
    | ResumeDeploy
    | ShowDeploys
    | ApproveDeploy
    | ShowOncall
    | OverrideOncall
    | ShowChecks
    | AckPage
    | ResolvePage
    | ShowWhys
    | SetSeverity
    | ScheduleWhys
    | ShowActions
    | ActionDone
    | ShowDigest
    | RecordInvestments
    | CreateFlag
    | ChangeFlag
    | ListFlags
    | ShowFlag
    | TurnOffFlag
    | Help
)


def parse(command: str, text: str, *, environments: Collection[str] = ()) -> Intent:
    """Read one slash command; anything unknown becomes help that names what was not understood
    and, for a typo, what it most likely meant.

    ``environments`` tells a revision from an environment: ``/deploy production 3f2a9c1`` and
    ``/deploy 3f2a9c1 production`` mean the same.
    """
    found = _parse(command, text, environments)
    if isinstance(found, Help) and found.not_understood and found.meant is None:
        guess = help.meant(found.not_understood, environments=environments)
        return Help(found.not_understood, guess, found.hint)
    return found


def _parse(command: str, text: str, environments: Collection[str]) -> Intent:
    command = command.strip().lower()
    words = text.split(maxsplit=1)
    verb = words[0].lower() if words else ""
    rest = words[1] if len(words) > 1 else ""
    if command == "/deploy":
        return _deploy(text, environments)
    if command == "/rollback":
        return _rollback(text, environments)
    if command == "/whys":
        return _whys(text)
    if command == "/flag":
        if verb == "help" and not rest.strip():
            return Help()
        found = flags.read(text)
        return found if found is not None else Help(not_understood=f"/flag {text}".strip())
    if command == "/actions":
        if verb in ("", "all") and not rest.strip():
            return ShowActions(everyone=verb == "all")
        if verb == "done" and rest.strip().isdigit():
            return ActionDone(int(rest))
        return Help(not_understood=f"/actions {text}".strip())
    if command == "/digest":
        return ShowDigest(verb or "this") if not rest.strip() else Help(f"/digest {text}".strip())
    if command == "/oncall":
        return _oncall(text)
    if command == "/checks":
        return ShowChecks() if not text.strip() else Help(not_understood=f"/checks {text}")
    if command == "/ci":
        return ShowCi(text.strip()) if text.strip() else Help(not_understood="/ci")
    if command != "/line":
        return Help(not_understood=f"{command} {text}".strip())
    if verb == "stop":
        return StopLine(rest)
    if verb == "start" and not rest.strip():
        return StartLine()
    if verb == "start" and rest.split()[0].lower() == "force":
        return StartLine(force=rest.strip()[5:].strip())
    if verb in ("status", "") and not rest.strip():
        return ShowLine()
    if verb == "help":
        return Help()
    return Help(not_understood=f"/line {text}".strip())


def _deploy(text: str, environments: Collection[str]) -> Intent:
    """``/deploy [rev] [env] [override] [again] [fix: <reason>]``, ``/deploy status [env]`` or
    ``/deploy resume [env]``."""
    head, fix, reason = text.partition("fix:")
    words = head.split()
    if words[:1] == ["status"] and len(words) <= 2:
        chosen = words[1] if len(words) == 2 else None
        if chosen is None or chosen in environments:
            return ShowDeploys(chosen)
    if words[:1] == ["help"]:
        return Help()
    if words[:1] == ["resume"] and _resume_words(words[1:], environments):
        return _resume(words[1:], environments, fix, reason, text)
    revision: str | None = None
    environment: str | None = None
    override = again = False
    for word in words:
        if word in environments and environment is None:
            environment = word
        elif word.lower() == "override" and not override:
            override = True
        elif word.lower() == "again" and not again:
            again = True
        elif revision is None and word not in environments:
            revision = word
        else:
            return Help(not_understood=f"/deploy {text}".strip())
    fix_reason = " ".join(reason.split()) if fix else None
    if fix and not fix_reason:
        return Help(not_understood=f"/deploy {text} (say why after fix:)".strip())
    return Deploy(revision, environment, fix_reason, override, again)


def _resume_words(words: list[str], environments: Collection[str]) -> bool:
    """``resume`` followed by an environment and ``override`` at most: else ``resume`` may be a
    branch to deploy (``/deploy resume production`` means the command, as ``status`` does)."""
    return all(word in environments or word.lower() == "override" for word in words)


def _resume(
    words: list[str], environments: Collection[str], fix: str, reason: str, text: str
) -> Intent:
    named = [word for word in words if word in environments]
    overrides = len(words) - len(named)
    fix_reason = " ".join(reason.split()) if fix else None
    if len(named) > 1 or overrides > 1 or (fix and not fix_reason):
        return Help(not_understood=f"/deploy {text}".strip())
    return ResumeDeploy(named[0] if named else None, fix_reason, overrides == 1)


def _rollback(text: str, environments: Collection[str]) -> Intent:
    """``/rollback [env] [rev] [confirm]``."""
    revision: str | None = None
    environment: str | None = None
    confirmed = False
    for word in text.split():
        if word == "help":
            return Help()
        if word in environments and environment is None:
            environment = word
        elif word.lower() == "confirm" and not confirmed:
            confirmed = True
        elif revision is None and word not in environments:
            revision = word
        else:
            return Help(not_understood=f"/rollback {text}".strip())
    return Rollback(environment, revision, confirmed)


_MENTION = re.compile(r"<@(?P<id>[UW][A-Z0-9]+)(?:\|[^>]*)?>|(?P<plain>[UW][A-Z0-9]{2,})")


def _whys(text: str) -> Intent:
    """``/whys``, ``/whys severity minor|major|critical``, ``/whys schedule <when>``."""
    verb, _, rest = text.strip().partition(" ")
    if not verb:
        return ShowWhys()
    if verb.lower() == "severity" and rest.strip():
        return SetSeverity(rest.strip().lower())
    if verb.lower() == "schedule" and rest.strip():
        return ScheduleWhys(rest.strip())
    return Help(not_understood=f"/whys {text}".strip())


def _oncall(text: str) -> Intent:
    """``/oncall`` or ``/oncall override @user until <when>``."""
    words = text.split(maxsplit=2)
    if not words:
        return ShowOncall()
    if words[0].lower() == "override" and len(words) == 3:
        mention = _MENTION.fullmatch(words[1])
        until = words[2]
        if mention is not None and until.lower().startswith("until "):
            return OverrideOncall(mention["id"] or mention["plain"], until[6:].strip())
        if words[1].startswith("@"):
            return Help(
                not_understood=f"/oncall {text}".strip(),
                hint=f"Who is {words[1]}? Mention them: type @ and pick them from Slack's list.",
            )
    return Help(not_understood=f"/oncall {text}".strip())
