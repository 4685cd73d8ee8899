"""The pre-receive hook at every push: read the push, ask Andon, tell the pusher.

The hook reads the push itself (its commits sit in git's quarantine, invisible to any other
process) and asks Andon (``bot.githooks.gate_ask``): over HTTP when ``ANDON_URL`` is set, else
straight from the database. When Andon cannot be reached, the push is refused — unless ``[gate]
fail_open = true`` in the hook's ``ANDON_CONFIG``, and then it is recorded in the repository
(``bot.githooks.unchecked``) and told in the channel once a push reaches Andon again. Anything else
that keeps the hook from a trusted answer refuses the push, and the pusher is told what failed.

Every push waits for this module's start, so it imports the standard library only and none of
its slow parts (no ``typing``, ``dataclasses``, ``urllib.request``, ``http.client``): the hook
``andon gate install`` writes runs it as ``python -S -P -c`` (``main``), without ``site``;
hooks written before run ``andon gate pre-receive``, which comes here too.
"""

from __future__ import annotations

import os
import sys

from bot.githooks import gate_ask as ask
from bot.githooks import push as git_push
from bot.githooks import unchecked as gate_unchecked

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: ``typing`` is not imported when the hook runs
    from collections.abc import Mapping
    from typing import Any, TextIO


def main() -> int:
    """The hook's entry: sealed first (its environment holds the API token), then the push."""
    from bot.settings.sealed import seal

    seal()
    return pre_receive_command(sys.stdin, os.environ)


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
        from bot.githooks import site_packages

        site_packages.add()  # pydantic reads the config
        from core.config.file import load

        return load(path).gate.fail_open, ""
    except Exception:
        return False, f" (and {path} could not be read to see whether [gate] fail_open is set)"
