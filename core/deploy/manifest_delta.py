"""A text file sent as the lines that changed: the host already holds the previous release's
manifest, so a redeploy that changes 1 % of the files need not send the other 99 % of its lines.

Edits are lines: ``=N`` copies the next N lines of the old text, ``-N`` skips them, ``+text``
writes ``text``. The host applies them in one pass (``bot/hosts/ssh_staging.py`` with ``awk``,
``bot/hosts/local.py`` with ``applied``), and the result is checked by its sha256 like every
other file of the release, so a host that applies them wrongly costs a resend, never a bad
release.
"""

_WORTH = 3  # edits are used only when under a third of the text (the whole one travels gzip'd)


def edits(old: str | None, new: str) -> str | None:
    """The edits that turn ``old`` into ``new``, or ``None`` when sending ``new`` whole is as
    good (no old text, not line-ended, or too little in common)."""
    if not old or not old.endswith("\n") or not new.endswith("\n"):
        return None
    where: dict[str, int] = {}
    for index, line in enumerate(old[:-1].split("\n")):
        where.setdefault(line, index)
    ops: list[str] = []
    cursor = copied = 0
    for line in new[:-1].split("\n"):
        found = where.get(line, -1)
        if found < cursor:  # new, or only earlier than what was already copied
            copied = _flush(ops, copied)
            ops.append(f"+{line}")
            continue
        if found > cursor:
            copied = _flush(ops, copied)
            ops.append(f"-{found - cursor}")
        copied += 1
        cursor = found + 1
    _flush(ops, copied)
    text = "".join(f"{op}\n" for op in ops)
    return text if len(text) * _WORTH < len(new) else None


def _flush(ops: list[str], copied: int) -> int:
    if copied:
        ops.append(f"={copied}")
    return 0


def applied(old: str, edits: str) -> str:
    """``new`` from ``old`` and its edits, as the host computes it; ``ValueError`` when the
    edits do not fit ``old``."""
    lines = old[:-1].split("\n") if old.endswith("\n") else old.split("\n")
    out: list[str] = []
    cursor = 0
    for op in edits.split("\n")[:-1] if edits.endswith("\n") else edits.split("\n"):
        kind, rest = op[:1], op[1:]
        if kind == "+":
            out.append(rest)
            continue
        if kind not in ("=", "-") or not rest.isdigit() or cursor + int(rest) > len(lines):
            raise ValueError(f"edit {op[:40]!r} does not fit the old text")
        if kind == "=":
            out.extend(lines[cursor : cursor + int(rest)])
        cursor += int(rest)
    return "".join(f"{line}\n" for line in out)
