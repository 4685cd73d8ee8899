"""A ref update as git hands it to a pre-receive hook, checked with ``re`` alone.

The hook checks every ``<old> <new> <ref>`` line before it asks git anything about the push, and
every push waits for the hook to start: this check lives apart from ``core.gate.push`` (whose
dataclasses cost the hook a third of an interpreter's start) so the hook can run it without them.
``core.gate.push.RefUpdate`` checks its fields with the same function, so the two cannot differ.
"""

import re

ZERO = "0" * 40
_SHA = re.compile(r"[0-9a-f]{40}")
# What ``git check-ref-format`` refuses: control characters, space ~ ^ : ? * [ and backslash,
# "..", "@{", "//", a component that starts with "." or ends in ".lock", a final "/" or ".".
_BAD_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|/\.|\.lock(?:/|$)|[/.]$")


class BadPushError(ValueError):
    """A description no git hook would send; ``field`` names what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def check_update(old: str, new: str, ref: str) -> None:
    """Raise ``BadPushError`` unless ``old`` and ``new`` are object ids and ``ref`` a ref name
    git would accept."""
    for name, value in (("old", old), ("new", new)):
        if not _SHA.fullmatch(value):
            raise BadPushError(name, f"{value[:60]!r} is not a 40-hex object id")
    if not ref.startswith("refs/") or len(ref) > 255 or _BAD_REF.search(ref):
        raise BadPushError("ref", f"{ref[:60]!r} is not a ref name git would accept")
