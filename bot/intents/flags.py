"""``/flag …`` read into intents: ``create``, ``on``, ``off``, ``ramp``, ``list``, ``show``.

Only the shape is read here; the key, the environment and the percentage are judged by
``core.flags`` so that a bad one is refused in a sentence — and audited — like any other.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class CreateFlag:
    key: str
    description: str = ""


@dataclass(frozen=True)
class ChangeFlag:
    """``on`` (100), ``off`` (0) or ``ramp <N>%``, in one environment; ``fix: <why>`` while the
    line is stopped."""

    key: str
    percentage: str
    environment: str | None = None
    fix_reason: str | None = None


@dataclass(frozen=True)
class TurnOffFlag:
    """A page's *Turn off* button: the kill switch, in the environment the suspect changed."""

    key: str
    environment: str | None = None


@dataclass(frozen=True)
class ListFlags:
    pass


@dataclass(frozen=True)
class ShowFlag:
    key: str


FlagIntent = CreateFlag | ChangeFlag | ListFlags | ShowFlag
PERCENTAGES = {"on": "100", "off": "0"}


def read(text: str) -> FlagIntent | None:
    """The intent ``/flag <text>`` means, or None when it is not one (the caller answers with
    the usage)."""
    head, fix, reason = text.partition("fix:")
    words = head.split()
    verb = words[0].lower() if words else ""
    if verb == "create" and len(words) >= 2 and not fix:
        key = words[1]
        return CreateFlag(key, text.strip()[len("create") :].strip()[len(key) :].strip())
    if verb in ("", "list") and len(words) <= 1 and not fix:
        return ListFlags()
    if verb == "show" and len(words) == 2 and not fix:
        return ShowFlag(words[1])
    fix_reason = " ".join(reason.split()) if fix else None
    if fix and not fix_reason:
        return None
    if verb in PERCENTAGES and len(words) in (2, 3):
        environment = words[2] if len(words) == 3 else None
        return ChangeFlag(words[1], PERCENTAGES[verb], environment, fix_reason)
    if verb == "ramp" and len(words) in (3, 4):
        environment = words[3] if len(words) == 4 else None
        return ChangeFlag(words[1], words[2], environment, fix_reason)
    return None
