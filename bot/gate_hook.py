"""``andon gate install`` and ``andon gate pre-receive``: the commit check, asked at every push.

The hook reads the push itself (its commits sit in git's quarantine, invisible to any other
process) and asks Andon: over HTTP when ``ANDON_URL`` is set, else straight from the database.
When Andon cannot answer, the push is refused — unless ``[gate] fail_open = true`` in the hook's
``ANDON_CONFIG`` — and the pusher is told what failed. Asking over HTTP imports only ``requests``
and the standard library and gives up after ``TIMEOUT`` seconds in all, so a push never hangs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from bot import git_hooks, git_push
from bot.git_hooks import HookKind, NotInstalledError

if TYPE_CHECKING:
    import argparse

    from bot.settings import Settings
    from core.gate.push import Push

PRE_RECEIVE = HookKind("pre-receive", "# andon: commit check pre-receive hook")
TIMEOUT = 5.0  # seconds, in all, for the HTTP question
TERMINAL_CHANNEL = "line"  # bot.main's channel when there is no Slack; replies follow the thread

# A chained hook that refuses refuses the push; Andon is then not asked, so nothing is announced.
_BODY = """if [ -x "$chained" ]; then
    printf '%s\\n' "$input" | "$chained" "$@" || exit $?
fi
printf '%s\\n' "$input" | {andon} gate pre-receive
"""


def run(args: argparse.Namespace) -> int:
    """``andon gate …``; the hook's entry loads no settings, so it starts fast."""
    if args.gate_command == "install":
        from bot.settings import load

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
        else f"reads the line from {_shown_url(recorded['ANDON_DATABASE_URL'])}"
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
    from core.config import ConfigError, load

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
        notes.append("[gate] fail_open = true: when Andon cannot be asked, pushes go through.")
    return notes


def _shown_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(an unreadable ANDON_DATABASE_URL)"


# --- andon gate pre-receive (the hook's entry point: keep its imports light) ----------------------


class _UnansweredError(Exception):
    """Andon could not be asked; the sentence names what failed."""


class _DeadlineError(Exception):
    pass


def pre_receive_command(stdin: TextIO, environ: Mapping[str, str]) -> int:
    """Print Andon's answer for the pusher; exit 1 refuses the push, as does Andon unreachable."""
    url = environ.get("ANDON_URL", "").strip()
    try:
        body = git_push.read(stdin, environ)
        if body is None:
            return 0
        allow, message = _ask_server(url, environ, body) if url else _ask_database(environ, body)
    except git_push.UnreadablePushError as failed:
        return _unanswered(f"andon: the push could not be read: {failed}", environ)
    except _UnansweredError as failed:
        return _unanswered(f"andon: {failed}", environ)
    except Exception as broken:  # a bug meets the same fail_open rule, not a traceback
        return _unanswered(f"andon: the commit check failed: {broken!r}"[:400], environ)
    if message:
        print(message, file=sys.stderr, flush=True)
    return 0 if allow else 1


def _unanswered(said: str, environ: Mapping[str, str]) -> int:
    print(said, file=sys.stderr)
    fail_open, why_not = _fail_open(environ)
    if fail_open:
        print(
            "andon: warning: [gate] fail_open = true, so this push is let through unchecked.",
            file=sys.stderr,
            flush=True,
        )
        return 0
    print(
        f"andon: the push is refused: the commit check fails closed when it cannot ask Andon"
        f"{why_not}. Try again, or ask whoever runs Andon.",
        file=sys.stderr,
        flush=True,
    )
    return 1


def _fail_open(environ: Mapping[str, str]) -> tuple[bool, str]:
    """``[gate] fail_open`` of the hook's own ``ANDON_CONFIG``; a broken file keeps it shut."""
    path = environ.get("ANDON_CONFIG") or "./andon.toml"
    try:
        from core.config import load

        return load(path).gate.fail_open, ""
    except Exception:
        return False, f" (and {path} could not be read to see whether [gate] fail_open is set)"


def _ask_server(url: str, environ: Mapping[str, str], body: dict[str, Any]) -> tuple[bool, str]:
    import requests

    token = environ.get("ANDON_API_TOKEN", "").strip()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with _deadline(TIMEOUT):
            response = requests.post(
                url.rstrip("/") + "/api/gate", json=body, headers=headers, timeout=TIMEOUT
            )
    except (_DeadlineError, requests.Timeout):
        raise _UnansweredError(
            f"Andon could not be reached at {url}: no answer within {TIMEOUT:g} s."
        ) from None
    except requests.RequestException as broken:
        raise _UnansweredError(f"Andon could not be reached at {url}: {_reason(broken)}.") from None
    if response.status_code == 401:
        raise _UnansweredError(
            f"Andon at {url} refused the hook's token (HTTP 401): check ANDON_API_TOKEN."
        )
    if response.status_code != 200:
        detail = response.text.strip().splitlines()[:1]
        shown = f": {detail[0][:200]}" if detail else ""
        raise _UnansweredError(f"Andon at {url} answered HTTP {response.status_code}{shown}.")
    try:
        answer = response.json()
        allow, message = answer["allow"], answer.get("message") or ""
        if not isinstance(allow, bool) or not isinstance(message, str):
            raise TypeError
    except (ValueError, KeyError, TypeError, AttributeError):
        raise _UnansweredError(
            f"Andon at {url} answered, but not as the commit check does: {response.text[:200]!r}"
        ) from None
    return allow, message


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """One clock for the whole question: connect and every read together, not each alone."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _expired(_signum: int, _frame: object) -> None:
        raise _DeadlineError

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _reason(broken: Exception) -> str:
    """ "connection refused" rather than urllib3's paragraph."""
    import re

    found = re.search(r"\[Errno -?\d+\] ([^'\"\)]+)", str(broken))
    return found.group(1).strip().lower() if found else type(broken).__name__


def _ask_database(environ: Mapping[str, str], body: dict[str, Any]) -> tuple[bool, str]:
    """No server to ask: decide here, queueing any override announcement for `andon serve`."""
    from bot.outbox import Outbox
    from bot.render import notice
    from core.clock import SystemClock
    from core.config import ConfigError, load
    from core.gate import decide
    from core.gate.push import BadPushError
    from storage.database import Database

    path = environ.get("ANDON_CONFIG") or "./andon.toml"
    url = environ.get("ANDON_DATABASE_URL") or "sqlite:///./andon.db"
    try:
        config = load(path)
        push = _push(body)
    except (ConfigError, BadPushError) as broken:
        raise _UnansweredError(str(broken)) from None
    except OSError as broken:
        raise _UnansweredError(f"{path} could not be read: {broken}") from None
    clock = SystemClock()
    try:
        database = Database(url)
        try:
            with database.writing() as session:
                outbox = Outbox(
                    session,
                    channel=config.slack.channel or TERMINAL_CHANNEL,
                    clock=clock,
                    render=notice,
                )
                answer = decide.check(
                    session, notifier=outbox, clock=clock, config=config, push=push
                )
        finally:
            database.dispose()
    except Exception as broken:
        said = (str(broken).strip().splitlines() or [type(broken).__name__])[0][:300]
        raise _UnansweredError(
            f"Andon's database {_shown_url(url)} could not be used: {said} "
            "(has `andon db upgrade` run?)"
        ) from None
    return answer.allow, answer.message


def _push(body: dict[str, Any]) -> Push:
    from core.gate.push import Push, PushedCommit, RefUpdate

    return Push(
        refs=tuple(RefUpdate(r["old"], r["new"], r["ref"]) for r in body["refs"]),
        commits=tuple(
            PushedCommit(
                sha=c["sha"],
                subject=c["subject"],
                author=c["author"],
                trailers=c["trailers"],
                paths=tuple(c["paths"]),
            )
            for c in body["commits"]
        ),
        push_options=tuple(body["push_options"]),
        pusher=body["pusher"],
    )
