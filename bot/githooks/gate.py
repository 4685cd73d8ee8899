"""``andon gate install`` and ``andon gate pre-receive``: the commit check, asked at every push.

The hook reads the push itself (its commits sit in git's quarantine, invisible to any other
process) and asks Andon (``bot.githooks.gate_ask``): over HTTP when ``ANDON_URL`` is set, else
straight from the database. When Andon cannot be reached, the push is refused — unless ``[gate]
fail_open = true`` in the hook's ``ANDON_CONFIG``, and then it is recorded in the repository
(``bot.githooks.unchecked``) and told in the channel once a push reaches Andon again. Anything else
that keeps the hook from a trusted answer refuses the push, and the pusher is told what failed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

from bot.githooks import gate_ask as ask
from bot.githooks import install as git_hooks
from bot.githooks import push as git_push
from bot.githooks import unchecked as gate_unchecked
from bot.githooks.install import HookKind, NotInstalledError

if TYPE_CHECKING:
    import argparse

    from bot.settings.environment import Settings

PRE_RECEIVE = HookKind("pre-receive", "# andon: commit check pre-receive hook")

# A chained hook that refuses refuses the push; Andon is then not asked, so nothing is announced.
_BODY = """if [ -x "$chained" ]; then
    printf '%s\\n' "$input" | "$chained" "$@" || exit $?
fi
printf '%s\\n' "$input" | {andon} gate pre-receive
"""


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
            body=_BODY,
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
    asks = (
        f"asks Andon at {recorded['ANDON_URL']}"
        if "ANDON_URL" in recorded
        else f"reads the line from {ask.shown_url(recorded['ANDON_DATABASE_URL'])}"
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


# --- andon gate pre-receive (the hook's entry point: keep its imports light) ----------------------


def pre_receive_command(stdin: TextIO, environ: Mapping[str, str]) -> int:
    """Print Andon's answer for the pusher; exit 1 refuses the push. Andon unreachable refuses it
    too, unless ``[gate] fail_open``; nothing else — a push that cannot be read, an answer that
    cannot be trusted, a bug — ever lets a push through unchecked."""
    url = environ.get("ANDON_URL", "").strip()
    try:
        body = git_push.read(stdin, environ)
        if body is None:
            return 0
        told = gate_unchecked.pending(environ)
        sent = {**body, "unchecked": told} if told else body
        answer = ask.server(url, environ, sent) if url else ask.database(environ, sent)
    except git_push.UnreadablePushError as failed:
        return _refused(f"andon: the push could not be read: {failed}")
    except ask.UnreachableError as failed:
        return _unreached(f"andon: {failed}", environ, body)
    except ask.UnansweredError as failed:
        return _refused(f"andon: {failed}")
    except Exception as broken:  # a bug refuses, saying what broke, never a traceback
        return _refused(f"andon: the commit check failed: {broken!r}"[:400])
    allow, message, taken = answer
    if taken:
        gate_unchecked.forget(environ, told)
    if message:
        print(message, file=sys.stderr, flush=True)
    return 0 if allow else 1


def _refused(said: str) -> int:
    print(said, file=sys.stderr)
    print(
        "andon: the push is refused: the commit check passes only what it has checked "
        "([gate] fail_open covers an Andon that cannot be reached, nothing else). "
        "Try again, or ask whoever runs Andon.",
        file=sys.stderr,
        flush=True,
    )
    return 1


def _unreached(said: str, environ: Mapping[str, str], body: dict[str, Any]) -> int:
    print(said, file=sys.stderr)
    fail_open, why_not = _fail_open(environ)
    if not fail_open:
        print(
            f"andon: the push is refused: the commit check fails closed when it cannot reach "
            f"Andon{why_not}. Try again, or ask whoever runs Andon.",
            file=sys.stderr,
            flush=True,
        )
        return 1
    try:
        where = gate_unchecked.record(environ, body, reason=said.removeprefix("andon: "))
    except gate_unchecked.UnrecordedError as failed:
        print(
            f"andon: the push is refused: [gate] fail_open = true, but {failed}, and a push "
            "is let through unchecked only when it is recorded. Try again, or ask whoever "
            "runs the repository.",
            file=sys.stderr,
            flush=True,
        )
        return 1
    print(
        "andon: warning: [gate] fail_open = true, so this push is let through unchecked. "
        f"It is recorded in {where}; the line channel hears of it when a push next reaches "
        "Andon.",
        file=sys.stderr,
        flush=True,
    )
    return 0


def _fail_open(environ: Mapping[str, str]) -> tuple[bool, str]:
    """``[gate] fail_open`` of the hook's own ``ANDON_CONFIG``; a broken file keeps it shut."""
    path = environ.get("ANDON_CONFIG") or "./andon.toml"
    try:
        from core.config.file import load

        return load(path).gate.fail_open, ""
    except Exception:
        return False, f" (and {path} could not be read to see whether [gate] fail_open is set)"
