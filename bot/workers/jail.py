"""The build's jail: where Andon runs code it did not write — a repository's build, the built-in CI
runner's command — so that the code can neither read Andon's secrets nor outlive its limits.

A jailed command gets a bare environment (``PATH``, ``HOME``, ``LANG``, ``TMPDIR``: nothing else
of Andon's), no stdin, and a process group of its own that is killed whole when it runs past its
time limit or prints more than ``MAX_OUTPUT``. When Andon runs as root the command runs only as
``[build] user`` (refused without one), which cannot read root's ``/proc/<pid>/environ``, its
``.env`` or its SSH key. As any other user it runs as Andon's user, and ``seal()`` has made Andon
non-dumpable, so ``/proc/<Andon's pid>/environ`` is closed to it (Linux; elsewhere nothing closes
it — see docs/deploy.md). What it printed comes back scrubbed of every secret.
"""

import contextlib
import os
import pwd
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

from bot.settings.sealed import seal
from core import words
from core.config.build import root_problems
from core.config.file import AndonConfig

MAX_OUTPUT = 50 * 1024 * 1024  # bytes a command may print before it is stopped
TAIL_BYTES = 64 * 1024  # what is kept of its output: where a failing command says why
KILL_GRACE = 3.0  # between SIGTERM and SIGKILL of the command's process group
DRAIN = 2.0  # how long output is still read once the command has ended
_TICK = 0.25
_SECRET_PREFIXES = ("ANDON_", "SLACK_")


class JailRefusedError(Exception):
    """The command was not run; the message names the setting that would let it run."""


class Ending(StrEnum):
    EXITED = "exited"
    TIMED_OUT = "timed out"
    TOO_LOUD = "printed too much"
    STOPPED = "stopped"  # the caller asked (Andon is stopping)


@dataclass(frozen=True)
class Ran:
    """How a jailed command ended, and the last of what it printed (secrets masked)."""

    ending: Ending
    status: int | None
    output: str
    duration: timedelta
    cut_off: str | None = None  # why it was stopped, as a sentence's predicate

    @property
    def ok(self) -> bool:
        return self.ending is Ending.EXITED and self.status == 0


@dataclass(frozen=True)
class _Account:
    name: str
    uid: int
    gid: int
    home: str


def as_root() -> bool:
    return os.geteuid() == 0


def problems(config: AndonConfig) -> list[str]:
    """What ``andon config check`` adds about who builds, which depends on this machine."""
    local_ci = config.ci is not None and config.ci.local is not None
    found = root_problems(config.build, local_ci=local_ci, as_root=as_root())
    user = config.build.user if config.build else None
    if user is not None:
        try:
            pwd.getpwnam(user)
        except KeyError:
            found.append(f"build.user: {user!r} is not a user of this machine")
    return found


def jail_for(config: AndonConfig, *, scrub: Callable[[str], str] = str) -> "Jail":
    """The jail andon.toml describes: ``[build] user`` for code from the repository."""
    return Jail(user=config.build.user if config.build else None, scrub=scrub)


class Jail:
    """Runs commands from the repository, each in a directory lent to it for the run;
    ``user`` is ``[build] user``."""

    def __init__(
        self,
        *,
        user: str | None,
        scrub: Callable[[str], str] = str,
        max_output: int = MAX_OUTPUT,
    ) -> None:
        self._user = user
        self._scrub = scrub
        self._max_output = max_output

    def run(
        self,
        command: str,
        *,
        cwd: Path,
        timeout: timedelta,
        trusted: bool = False,
        keep_going: Callable[[], bool] | None = None,
    ) -> Ran:
        """Run ``sh -c command`` in ``cwd`` to its end or its limits; ``keep_going`` is asked
        every quarter second and stops it when it says no. ``trusted``: the operator's own
        command, which runs as Andon (its secrets still left out of the environment).

        Raises ``JailRefusedError`` when it may not run, ``OSError`` when it cannot start."""
        account = None if trusted else self._account()
        if not trusted and account is None:
            seal()  # already done at start; cheap, and a front that forgot is covered
        with self._scratch(account) as scratch:
            if account is not None:
                _lend(cwd, account)
            started = time.monotonic()
            process = subprocess.Popen(
                ["/bin/sh", "-c", command],
                cwd=cwd,
                env=_andons_without_secrets() if trusted else _bare(account, scratch),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a limit kills all of it
                user=account.uid if account else None,  # root drops to the build user,
                group=account.gid if account else None,
                extra_groups=[] if account else None,  # keeping none of root's groups
            )
            ending, tail = self._watch(process, timeout=timeout, keep_going=keep_going)
            duration = timedelta(seconds=time.monotonic() - started)
        cut_off = {
            Ending.TIMED_OUT: f"timed out after {words.span(timeout)} and was stopped",
            Ending.TOO_LOUD: f"printed more than {self._max_output // 2**20} MB and was stopped",
        }.get(ending)
        output = self._scrub(tail.decode("utf-8", errors="replace"))
        status = process.returncode if ending is Ending.EXITED else None
        return Ran(ending=ending, status=status, output=output, duration=duration, cut_off=cut_off)

    def _account(self) -> _Account | None:
        """Who a repository's code runs as: ``[build] user`` when Andon is root, else Andon."""
        if not as_root():
            return None
        if self._user is None:
            raise JailRefusedError(
                "Andon runs as root and andon.toml names no [build] user: code from the "
                'repository never runs as root — set [build] user = "nobody" (or a user of its own)'
            )
        try:
            entry = pwd.getpwnam(self._user)
        except KeyError:
            raise JailRefusedError(
                f"[build] user {self._user!r} is not a user of this machine"
            ) from None
        if entry.pw_uid == 0:
            raise JailRefusedError(f"[build] user {self._user!r} is root: name a user with less")
        return _Account(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir)

    @contextlib.contextmanager
    def _scratch(self, account: _Account | None) -> Iterator[Path]:
        """A HOME and TMPDIR of the command's own, removed afterwards."""
        scratch = Path(tempfile.mkdtemp(prefix="andon-jail-"))
        try:
            for name in ("home", "tmp"):
                (scratch / name).mkdir(mode=0o700)
            if account is not None:
                for path in (scratch, scratch / "home", scratch / "tmp"):
                    os.chown(path, account.uid, account.gid)
            yield scratch
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _watch(
        self,
        process: subprocess.Popen[bytes],
        *,
        timeout: timedelta,
        keep_going: Callable[[], bool] | None,
    ) -> tuple[Ending, bytes]:
        """Read its output as it comes (keeping the tail) until it ends or a limit is reached."""
        assert process.stdout is not None
        pipe = process.stdout.fileno()
        deadline = time.monotonic() + timeout.total_seconds()
        tail, printed, open_pipe = bytearray(), 0, True
        ending: Ending | None = None
        ended_at: float | None = None
        try:
            while True:
                if open_pipe:
                    ready, _, _ = select.select([pipe], [], [], _TICK)
                    if ready:
                        chunk = os.read(pipe, 1 << 16)
                        open_pipe = bool(chunk)
                        printed += len(chunk)
                        tail += chunk
                        del tail[:-TAIL_BYTES]
                else:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        process.wait(timeout=_TICK)
                now = time.monotonic()
                if process.poll() is not None:
                    if ended_at is None:
                        ended_at = now
                        _kill_group(process, signal.SIGKILL)  # what it left in the background
                    if not open_pipe or now - ended_at > DRAIN:
                        return ending or Ending.EXITED, bytes(tail)
                    continue
                if printed > self._max_output:
                    ending = Ending.TOO_LOUD
                elif now >= deadline:
                    ending = Ending.TIMED_OUT
                elif keep_going is not None and not keep_going():
                    ending = Ending.STOPPED
                if ending is not None:
                    _stop_group(process)
        finally:
            process.stdout.close()
            if process.poll() is None:
                _stop_group(process)


def _bare(account: _Account | None, scratch: Path) -> dict[str, str]:
    """PATH, HOME, LANG and TMPDIR — nothing else of Andon's environment."""
    home = scratch / "home"
    if account is not None and os.path.isdir(account.home):
        home = Path(account.home)
    return {
        "PATH": os.environ.get("PATH") or os.defpath,
        "HOME": str(home),
        "LANG": os.environ.get("LANG") or "C.UTF-8",
        "TMPDIR": str(scratch / "tmp"),
    }


def _andons_without_secrets() -> dict[str, str]:
    """The operator's own command: Andon's environment, but none of its settings or secrets."""
    return {k: v for k, v in os.environ.items() if not k.upper().startswith(_SECRET_PREFIXES)}


def _lend(cwd: Path, account: _Account) -> None:
    """The command's directory becomes the build user's; the run's own scratch directory above
    it is opened for passing through, and every directory further up must already be."""
    for directory, dirs, files in os.walk(cwd):
        os.lchown(directory, account.uid, account.gid)
        for name in (*dirs, *files):
            os.lchown(os.path.join(directory, name), account.uid, account.gid)
    parent = cwd.parent
    info = parent.stat()
    if info.st_uid == os.geteuid() and not info.st_mode & 0o001:
        parent.chmod((info.st_mode & 0o7777) | 0o001)
    for above in [*reversed(parent.parents), parent]:
        info = above.stat()
        if info.st_uid == account.uid:
            allowed = info.st_mode & 0o100
        elif info.st_gid == account.gid:
            allowed = info.st_mode & 0o010
        else:
            allowed = info.st_mode & 0o001
        if not allowed:
            raise JailRefusedError(
                f"[build] user {account.name!r} cannot pass through {above}, where Andon puts "
                "the build's files: open it to that user, or give Andon a TMPDIR it can reach"
            )


def _kill_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone already
        os.killpg(process.pid, sig)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the whole group, then SIGKILL what is left: ``sh -c`` alone would orphan its jobs."""
    _kill_group(process, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=KILL_GRACE)
    _kill_group(process, signal.SIGKILL)
    process.wait()
