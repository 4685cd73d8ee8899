"""The host side of staging a release over SSH: one shell script, and what its output means."""

import shlex
from collections.abc import Sequence

from core.deploy.transport import (
    OUTPUT_TAIL,
    CommandResult,
    HostError,
    Patch,
    parse_sums,
    path_inside,
)

# Exit statuses of the staging script's own steps; sha256sum's 0 or 1 is the last one's.
_AT_COPY, _AT_REMOVE, _AT_UNPACK, _AT_SUMS = 81, 82, 83, 84

# ``core/deploy/manifest_delta.py``'s edits applied in one pass (POSIX awk: mawk, gawk and
# busybox have it); the old file is named in the environment, which awk reads unescaped.
PATCHING = """BEGIN { base = ENVIRON["ANDON_PATCH_BASE"] }
{
    op = substr($0, 1, 1)
    if (op == "+") { print substr($0, 2); next }
    if (op != "=" && op != "-") exit 2
    for (n = substr($0, 2) + 0; n > 0; n--) {
        if ((getline line < base) <= 0) exit 3
        if (op == "=") print line
    }
}"""


def staging(
    directory: str,
    *,
    base: str | None,
    remove: Sequence[str],
    sums: str,
    patch: Patch | None,
    address: str,
) -> tuple[str, list[bytes]]:
    """The staging script, one channel's, and what its stdin starts with — the removals, the
    sums, a patch's edits (not the release: only the edits count as sent) — before the
    archive, every path checked first: sha256sum would follow "../", rm and awk too."""
    removals = b"".join(path_inside(path, address).encode() + b"\0" for path in remove)
    checks = sums.encode() if parse_sums(sums, address) else b""
    edits = patch.edits.encode() if patch and base is not None else b""
    patched = (path_inside(patch.name, address), len(edits)) if patch and edits else None
    script = staging_script(
        directory, base=base, removals=len(removals), sums=len(checks), patch=patched
    )
    return script, [removals, checks, edits]


def staging_script(
    directory: str, *, base: str | None, removals: int, sums: int, patch: tuple[str, int] | None
) -> str:
    """The host side of ``stage_tree``: a POSIX shell script, every path quoted.

    Its stdin holds the removals, the sums, a patch's edits (``patch`` is the file's relative
    name and the edits' length), then the archive. It never changes its own directory (only
    its subshells do): a relative path, like every other path of the port, is relative to the
    SSH user's home.
    """
    at = shlex.quote(directory)
    lines = ["exec 2>&1"]
    if base is None:
        lines.append(f"mkdir -p -- {at} || exit {_AT_COPY}")
    else:  # cp would nest the copy inside an existing directory: refuse, as link_copy does
        lines.append(f"if [ -e {at} ] || [ -h {at} ]; then echo 'File exists'; exit {_AT_COPY}; fi")
        lines.append(f"cp -al -- {shlex.quote(base)} {at} || exit {_AT_COPY}")
    if removals:
        lines.append(f"(cd {at} && head -c {removals} | xargs -0 rm -f --) || exit {_AT_REMOVE}")
    # Next to the directory, and removed on the way out: sums and edits never enter the release.
    sizes = {"sums": sums, "edits": patch[1] if patch and base is not None else 0}
    kept = [name for name, size in sizes.items() if size]
    for name in kept:
        pattern = shlex.quote(f"{directory}.{name}.XXXXXX")
        lines.append(f"{name}=$(mktemp {pattern}) || exit {_AT_SUMS}")
    if kept:
        quoted = " ".join(f'"${name}"' for name in kept)
        lines.append(f"trap 'rm -f -- {quoted}' EXIT")
    for name in kept:
        lines.append(f'head -c {sizes[name]} > "${name}" || exit {_AT_SUMS}')
    # GNU tar replaces a file in the way by a new inode (see ``unpack``).
    lines.append(f"tar -xzf - --no-same-owner -C {at} || exit {_AT_UNPACK}")
    if "edits" in kept and patch and base is not None:
        lines.append(_patching(directory, base=base, name=patch[0]))
    if sums:
        lines.append(checking(directory))
    return "\n".join(lines)


# sha256sum -c's verdicts from ``openssl dgst -sha256 -r`` (``<hex> *./<path>``): the sums
# first, then openssl's lines; every file of the sums named once, in their order.
COMPARING = """NR == FNR {
    name = substr($0, 67); order[++n] = name; want[name] = tolower(substr($0, 1, 64)); next
}
{ got[substr($0, 69)] = substr($0, 1, 64) }
END {
    for (i = 1; i <= n; i++) {
        name = order[i]
        if (!(name in got)) { print name ": FAILED open or read"; bad = 1 }
        else if (got[name] != want[name]) { print name ": FAILED"; bad = 1 }
    }
    exit bad
}"""
_EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def checking(directory: str) -> str:
    """Every file of ``$sums`` checked in ``directory``, the mismatches printed as
    ``sha256sum -c`` prints them. openssl hashes with the CPU's SHA instructions, 4–5× less CPU
    than coreutils' sha256sum; a host without a working openssl (or awk) gets sha256sum."""
    at = shlex.quote(directory)
    names = "sed 's,^.\\{66\\},./,' \"$sums\" | tr '\\n' '\\0'"  # "./": never an option
    hashes = "xargs -0 openssl dgst -sha256 -r 2>/dev/null"
    probe = "openssl dgst -sha256 -r < /dev/null 2>/dev/null | cut -c1-64"
    return "\n".join(
        [
            'case $sums in /*) ;; *) sums="$PWD/$sums" ;; esac',
            f'if command -v awk > /dev/null && [ "$({probe})" = {_EMPTY_SHA256} ]; then',
            f'    (cd {at} && {names} | {hashes} | awk {shlex.quote(COMPARING)} "$sums" -)',
            "else",
            # Its complaints into its own stdout: one pipe keeps the lines whole and in order
            # (sshd forwards two pipes as it reads them, and a line could be cut by the other's).
            f'    (cd {at} && sha256sum --quiet -c - 2>&1) < "$sums"',
            "fi",
        ]
    )


def _patching(directory: str, *, base: str, name: str) -> str:
    """The patched file written as a new inode (its hard-linked twin unlinked first, so the
    base never changes); when awk fails it is left missing, and sha256sum names it."""
    new = shlex.quote(f"{directory}/{name}")
    old = shlex.quote(f"{base}/{name}")
    program = shlex.quote(PATCHING)
    awk = f'ANDON_PATCH_BASE={old} awk {program} < "$edits" > {new}'
    return f"rm -f -- {new} && {awk} || rm -f -- {new}"


def raise_for_step(
    result: CommandResult, *, address: str, directory: str, base: str | None
) -> None:
    """A step of the staging script failed: named as the separate calls would name it."""
    steps = {
        _AT_COPY: f"link-copy {base} to {directory}" if base else f"create {directory}",
        _AT_REMOVE: f"remove files in {directory}",
        _AT_UNPACK: f"unpack into {directory}",
        _AT_SUMS: f"verify {directory}",
    }
    step_name = steps.get(result.status)
    if step_name is not None:
        output = result.output.strip()[-OUTPUT_TAIL:]
        raise HostError(f"{address}: {step_name}: {output or f'exit status {result.status}'}")


def failed_paths(output: str) -> list[str]:
    """``sha256sum -c`` prints ``path: FAILED`` or ``path: FAILED open or read`` per bad file."""
    bad: list[str] = []
    for line in output.splitlines():
        for suffix in (": FAILED", ": FAILED open or read"):
            if line.endswith(suffix):
                bad.append(line[: -len(suffix)])
    return bad
