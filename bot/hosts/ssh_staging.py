"""The host side of staging a release over SSH: one shell script, and what its output means."""

import shlex

from core.deploy.transport import OUTPUT_TAIL, CommandResult, HostError

# Exit statuses of the staging script's own steps; sha256sum's 0 or 1 is the last one's.
_AT_COPY, _AT_REMOVE, _AT_UNPACK, _AT_SUMS = 81, 82, 83, 84


def staging_script(directory: str, *, base: str | None, removals: int, sums: int) -> str:
    """The host side of ``stage_tree``: a POSIX shell script, every path quoted.

    It never changes its own directory (only its subshells do): a relative path, like every
    other path of the port, is relative to the SSH user's home.
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
    if sums:
        # Next to the directory, and removed on the way out: the sums never enter the release.
        pattern = shlex.quote(f"{directory}.sums.XXXXXX")
        lines.append(f"sums=$(mktemp {pattern}) || exit {_AT_SUMS}")
        lines.append("trap 'rm -f -- \"$sums\"' EXIT")
        lines.append(f'head -c {sums} > "$sums" || exit {_AT_SUMS}')
    # GNU tar replaces a file in the way by a new inode (see ``unpack``).
    lines.append(f"tar -xzf - --no-same-owner -C {at} || exit {_AT_UNPACK}")
    if sums:
        # Its complaints into its own stdout: one pipe keeps the lines whole and in order
        # (sshd forwards two pipes as it reads them, and a line could be cut by the other's).
        lines.append(f'(cd {at} && sha256sum --quiet -c - 2>&1) < "$sums"')
    return "\n".join(lines)


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
