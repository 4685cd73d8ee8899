"""``andon gate install`` and ``andon gate pre-receive``: the commit check, asked at every push.

``install`` writes the pre-receive hook; what the hook does at every push — read the push, ask
Andon, tell the pusher — is ``bot.githooks.pre_receive``, which hooks installed by this version
run directly and older hooks reach through ``andon gate pre-receive``.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from bot.githooks import install as git_hooks
from bot.githooks.install import HookKind, NotInstalledError
from bot.githooks.pre_receive import pre_receive_command

if TYPE_CHECKING:
    import argparse

    from bot.settings.environment import Settings

PRE_RECEIVE = HookKind("pre-receive", "# andon: commit check pre-receive hook")

# A chained hook that refuses refuses the push; Andon is then not asked, so nothing is announced.
# Andon is asked by its Python running ``bot.githooks.pre_receive`` (``git_hooks.module_command``:
# without ``site``, which costs as much as the rest of Python's start), in the shell's place
# (``exec``) and reading git's input itself unless a chained hook needs it first; hooks written
# before ran ``andon gate pre-receive``, which still works.
_BODY = """if [ -x "$chained" ]; then
    input=$(cat)
    printf '%s\\n' "$input" | "$chained" "$@" || exit $?
    exec {hook} <<ANDON_PUSH
$input
ANDON_PUSH
fi
exec {hook}
"""
HOOK_MODULE = "bot.githooks.pre_receive"


def run(args: argparse.Namespace) -> int:
    """``andon gate …``; the hook's entry loads no settings, so it starts fast."""
    if args.gate_command == "install":
        from bot.settings.environment import load

        return install_command(load(), args.repo)
    return pre_receive_command(sys.stdin, os.environ)


# --- andon gate install --------------------------------------------------------------------------


def install_command(settings: Settings, repo: str) -> int:
    """Make every push to ``repo`` ask Andon first, keeping any pre-receive hook it has."""
    try:
        recorded = _recorded(settings)
        script = git_hooks.script(
            PRE_RECEIVE,
            written_by="andon gate install",
            purpose="Asks Andon whether this push may land; a non-zero exit refuses it.",
            recorded=recorded,
            body=_BODY.replace("{hook}", git_hooks.module_command(HOOK_MODULE)),
        )
        installed = git_hooks.install(repo, PRE_RECEIVE, script=script)
        options = git_hooks.git(installed.repo, "config", "receive.advertisePushOptions", "true")
    except NotInstalledError as refused:
        print(f"andon: {refused}", file=sys.stderr)
        return refused.code
    if options.returncode != 0:
        print(
            f"andon: installed {installed.hook}, but receive.advertisePushOptions could not be "
            f"set in {installed.repo} ({options.stderr.strip()}): `git push -o` will not work.",
            file=sys.stderr,
        )
        return 1
    from bot.githooks.gate_database import shown_url

    asks = (
        f"asks Andon at {recorded['ANDON_URL']}"
        if "ANDON_URL" in recorded
        else f"reads the line from {shown_url(recorded['ANDON_DATABASE_URL'])}"
    )
    print(f"Installed {installed.hook}: every push to {installed.repo} {asks} first.")
    print('`git push -o line-fix="<why>"` reaches it: receive.advertisePushOptions is on.')
    for note in git_hooks.notes(
        installed, PRE_RECEIVE, still="still runs first; when it refuses, the push is refused"
    ):
        print(note)
    for note in _notes(settings, recorded, installed.hook):
        print(f"Note: {note}")
    return 0


def _recorded(settings: Settings) -> dict[str, str]:
    """The installing environment's settings, as the hook will carry them."""
    recorded = {}
    if settings.andon_url:
        recorded["ANDON_URL"] = settings.andon_url
    if settings.andon_api_token and settings.andon_api_token.get_secret_value():
        recorded["ANDON_API_TOKEN"] = settings.andon_api_token.get_secret_value()
    recorded["ANDON_DATABASE_URL"] = git_hooks.absolute_database_url(settings.andon_database_url)
    recorded["ANDON_CONFIG"] = os.path.abspath(settings.andon_config)
    return recorded


def _notes(settings: Settings, recorded: dict[str, str], hook: os.PathLike[str]) -> list[str]:
    from core.config.file import ConfigError, load

    notes = []
    if "ANDON_URL" in recorded and "ANDON_API_TOKEN" not in recorded:
        notes.append("no ANDON_API_TOKEN: Andon will answer 401 and every push will be refused.")
    if "ANDON_API_TOKEN" in recorded:
        notes.append(f"{hook} records ANDON_API_TOKEN: whoever can read it can read the token.")
    try:
        config = load(settings.andon_config)
    except ConfigError:
        return [*notes, f"{settings.andon_config} has problems: see `andon config check`."]
    notes.append(f"it guards {', '.join(config.protected_refs)}.")
    if config.gate.fail_open:
        notes.append(
            "[gate] fail_open = true: when Andon cannot be reached, pushes go through unchecked "
            "(recorded in the repository, told in the channel later)."
        )
    return notes
